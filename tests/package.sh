#!/usr/bin/env bash
# Builds Mixport's release packages into target/package/. CI (.ci/run) and the release workflow
# (.github/workflows/release.yml) both call this script, so what CI installs and smoke-tests
# (tests/package_smoke.sh) is what users download.
#
#   tests/package.sh [--target TRIPLE] [--no-build]
#
# --target   build for TRIPLE (default: this machine's); the binary is then taken from
#            target/TRIPLE/release instead of target/release
# --no-build package the binary that is already built instead of running
#            `cargo build --release --locked` first
#
# What it makes (VERSION is Cargo.toml's version), each with a .sha256 file beside it:
#   Linux x86_64   mixport_VERSION_amd64.deb             Debian/Ubuntu package (apt-get install ./…)
#                  mixport-vVERSION-x86_64-linux.tar.gz  mixport, mixport.desktop, mixport.png,
#                                                        mixport-mime.xml, sample-events.csv,
#                                                        README.md, LICENSE
#   macOS          mixport-vVERSION-ARCH-macos-app.zip   Mixport.app (assets/Info.plist), ad-hoc signed
#                  mixport-vVERSION-ARCH-macos.tar.gz    the bare binary, README.md, LICENSE
#   Windows        mixport-vVERSION-x86_64-windows.zip   mixport.exe, sample-events.csv, README, LICENSE
# The macOS part needs sips, iconutil, plutil, codesign and ditto; the Windows part 7z. Only the
# Linux part runs in CI here: the other two run only in the release workflow.
set -euo pipefail

cd "$(dirname "$0")/.."

target=""
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --target) target="${2:?--target needs a target triple}"; shift 2 ;;
        --target=*) target="${1#--target=}"; shift ;;
        --no-build) build=0; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) echo "package.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

# The [package] version from Cargo.toml.
version=$(awk '/^\[/ { section = $0 }
               section == "[package]" && /^version *=/ { gsub(/^[^"]*"|".*$/, ""); print; exit }' Cargo.toml)
[ -n "$version" ] || { echo "package.sh: no version in Cargo.toml" >&2; exit 2; }

host=$(rustc -vV | sed -n 's/^host: //p')
triple=${target:-$host}
case "$triple" in
    x86_64-unknown-linux-gnu) platform=x86_64-linux ;;
    aarch64-apple-darwin) platform=aarch64-macos ;;
    x86_64-apple-darwin) platform=x86_64-macos ;;
    x86_64-pc-windows-msvc) platform=x86_64-windows ;;
    *) echo "package.sh: no package layout for target $triple" >&2; exit 2 ;;
esac

if [ "$build" -eq 1 ]; then
    if [ -n "$target" ]; then
        cargo build --release --locked --target "$target"
    else
        cargo build --release --locked
    fi
fi
bin_dir="target/${target:+$target/}release"

out=target/package
staging="$out/staging"
rm -rf "$out"
mkdir -p "$staging"
base="mixport-v${version}-${platform}"

sha256() {
    if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi
}

# --- Linux: the .deb and the tarball --------------------------------------------------------------

# The Depends line. The binary itself links only libc, libm and libgcc_s (their minimum versions are
# read off its symbol versions); everything else is loaded at run time with dlopen, found with
# /proc/PID/maps of the app running under Xvfb and with the library names in winit's, wgpu's and
# xkbcommon's loaders (tests/package_smoke.sh checks on every CI run that each library the running
# app has loaded belongs to a package that this line pulls in):
#   X11        libX11, libX11-xcb, libXcursor, libXi (winit), libxcb, libxkbcommon(-x11) (keyboard)
#   Wayland    libwayland-client (winit), libwayland-egl (wgpu's GL backend)
#   drawing    libvulkan + a Vulkan driver, or libEGL + Mesa's EGL and DRI drivers (wgpu falls back
#              to GL when no Vulkan driver is there; both paths were run under Xvfb)
# D-Bus (keychain, file dialog portal) is spoken by pure-Rust zbus: no library.
linux_depends() {
    local binary=$1 glibc gcc
    glibc=$(objdump -T "$binary" | grep -oE 'GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/GLIBC_//' | sort -uV | tail -1)
    gcc=$(objdump -T "$binary" | grep -oE 'GCC_[0-9]+(\.[0-9]+)+' | sed 's/GCC_//' | sort -uV | tail -1)
    printf '%s' "libc6 (>= ${glibc}), libgcc-s1 (>= ${gcc:-3.0}), libx11-6, libx11-xcb1, libxcursor1, libxi6, libxcb1, libxkbcommon0, libxkbcommon-x11-0, libwayland-client0, libwayland-egl1, libvulkan1, libegl1, libegl-mesa0, mesa-vulkan-drivers | vulkan-icd | libgl1-mesa-dri"
}

build_deb() {
    local binary=$1
    local root="$staging/deb"
    local deb="$out/mixport_${version}_amd64.deb"
    install -Dm755 "$binary" "$root/usr/bin/mixport"
    install -Dm644 assets/mixport.desktop "$root/usr/share/applications/mixport.desktop"
    install -Dm644 assets/icon.png "$root/usr/share/icons/hicolor/256x256/apps/mixport.png"
    install -Dm644 assets/mixport-mime.xml "$root/usr/share/mime/packages/mixport.xml"
    install -Dm644 assets/sample-events.csv "$root/usr/share/mixport/sample-events.csv"
    install -Dm644 assets/sample-customers.csv "$root/usr/share/mixport/sample-customers.csv"
    install -Dm644 README.md "$root/usr/share/doc/mixport/README.md"
    # Debian's machine-readable copyright format, with the license text of LICENSE.
    {
        echo "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/"
        echo "Upstream-Name: mixport"
        echo
        echo "Files: *"
        echo "Copyright: $(grep -m1 -i '^copyright' LICENSE | sed 's/^[Cc]opyright *([Cc]) *//; s/^[Cc]opyright *//')"
        echo "License: MIT"
        sed -e 's/^[[:space:]]*$/./' -e 's/^/ /' LICENSE
    } > "$root/usr/share/doc/mixport/copyright"
    chmod 644 "$root/usr/share/doc/mixport/copyright"

    local installed_kb
    installed_kb=$(du -sk --apparent-size "$root" | cut -f1)
    mkdir -p "$root/DEBIAN"
    cat > "$root/DEBIAN/control" <<CONTROL
Package: mixport
Version: ${version}
Architecture: amd64
Maintainer: ${MIXPORT_MAINTAINER:-The Mixport authors <maintainers@mixport.invalid>}
Installed-Size: ${installed_kb}
Depends: $(linux_depends "$binary")
Recommends: gnome-keyring | kwalletmanager | keepassxc
Section: utils
Priority: optional
Description: import historical (backdated) events into Mixpanel
 Mixport is a desktop app, and a command line over the same engine, that takes
 a CSV, TSV, JSON, NDJSON or Excel file of past events, helps map its columns
 to Mixpanel's fields, checks every row the way Mixpanel's strict mode would,
 imports the valid rows through the /import API, and lists every rejected row
 with its reason.
 .
 Credentials are kept in the desktop's Secret Service (GNOME Keyring, KWallet,
 KeePassXC), never in a file.
CONTROL
    # Triggers of desktop-file-utils, shared-mime-info and the icon theme refresh their caches:
    # no maintainer scripts are needed.
    dpkg-deb --root-owner-group -Zgzip --build "$root" "$deb" >/dev/null
    dpkg-deb --info "$deb"
    dpkg-deb --contents "$deb"
}

build_linux_tarball() {
    local binary=$1
    local dir="$staging/$base"
    mkdir -p "$dir"
    install -m755 "$binary" "$dir/mixport"
    install -m644 assets/mixport.desktop "$dir/mixport.desktop"
    install -m644 assets/icon.png "$dir/mixport.png"
    install -m644 assets/mixport-mime.xml "$dir/mixport-mime.xml"
    install -m644 assets/sample-events.csv assets/sample-customers.csv README.md LICENSE "$dir/"
    tar -C "$staging" --owner=0 --group=0 -czf "$out/$base.tar.gz" "$base"
}

# --- macOS: Mixport.app and the bare binary ---------------------------------------------------------

build_macos() {
    local binary=$1
    local dir="$staging/$base"
    mkdir -p "$dir"
    cp "$binary" README.md LICENSE "$dir/"
    tar -C "$staging" -czf "$out/$base.tar.gz" "$base"

    local app_base="${base}-app"
    local app="$staging/$app_base/Mixport.app"
    mkdir -p "$app/Contents/MacOS" "$app/Contents/Resources"
    cp "$binary" "$app/Contents/MacOS/mixport"
    cp assets/sample-events.csv assets/sample-customers.csv "$app/Contents/Resources/"
    local iconset
    iconset="$(mktemp -d)/mixport.iconset"
    mkdir -p "$iconset"
    for size in 16 32 128 256; do
        sips -z "$size" "$size" assets/icon.png --out "$iconset/icon_${size}x${size}.png" >/dev/null
    done
    sips -z 64 64 assets/icon.png --out "$iconset/icon_32x32@2x.png" >/dev/null
    cp "$iconset/icon_32x32.png" "$iconset/icon_16x16@2x.png"
    cp "$iconset/icon_256x256.png" "$iconset/icon_128x128@2x.png"
    iconutil -c icns "$iconset" -o "$app/Contents/Resources/mixport.icns"
    sed -e "s/@VERSION@/${version}/g" -e "s/@MINIMUM_MACOS@/${MACOSX_DEPLOYMENT_TARGET:-11.0}/g" \
        assets/Info.plist > "$app/Contents/Info.plist"
    plutil -lint "$app/Contents/Info.plist"
    # Ad-hoc signature: Apple-silicon Macs refuse to run unsigned code.
    codesign --force --sign - "$app"
    cp README.md LICENSE "$staging/$app_base/"
    (cd "$staging" && ditto -c -k --keepParent "$app_base" "../$app_base.zip")
}

# --- Windows: mixport.exe in a zip -----------------------------------------------------------------

build_windows() {
    local binary=$1
    local dir="$staging/$base"
    mkdir -p "$dir"
    cp "$binary" assets/sample-events.csv assets/sample-customers.csv README.md LICENSE "$dir/"
    (cd "$staging" && 7z a -tzip "../$base.zip" "$base" >/dev/null)
}

case "$platform" in
    *-linux)
        # The release profile keeps line tables in every crate (debug = "line-tables-only"): 200 MB.
        # The packages ship the binary without them (about 40 MB); symbols stay, so a panic's
        # backtrace still names functions.
        binary="$staging/mixport"
        strip --strip-debug -o "$binary" "$bin_dir/mixport"
        build_deb "$binary"
        build_linux_tarball "$binary"
        ;;
    *-macos) build_macos "$bin_dir/mixport" ;;
    *-windows) build_windows "$bin_dir/mixport.exe" ;;
esac

rm -rf "$staging"
(
    cd "$out"
    for file in *; do
        sha256 "$file" > "$file.sha256"
    done
)
ls -l "$out"
