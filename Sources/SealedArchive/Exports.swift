/// The format core is part of this library's public surface: keys, headers
/// and errors are the types every caller of SealedArchive already uses, so
/// `import SealedArchive` keeps bringing them in.
@_exported import SealedArchiveFormat
