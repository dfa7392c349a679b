# Sourced by Tools/*.sh: install_packages PACKAGE... installs the Debian
# packages that are missing (apt-get update only when something is), as root
# or through sudo, and puts Swift on PATH.
install_packages() {
    local missing=() package
    for package in "$@"; do
        dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
    done
    if ((${#missing[@]})); then
        echo "== installing ${missing[*]}"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        $sudo apt-get update -qq
        DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
    export PATH="/opt/swift/usr/bin:$PATH"
}
