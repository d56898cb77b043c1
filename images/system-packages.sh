#!/bin/sh
# Unpacks the .deb files beside this script (downloaded on the host by kit/image/system_packages.py: exactly what
# the base lacks) into /opt/system, which the final stage copies over its root in one layer, and into this stage's
# root for build commands. No network, no apt. The packages are recorded in dpkg's status file, so scanners see
# them; their maintainer scripts are not run (the files and shared libraries are what a server uses).
set -eu
here=$(dirname "$0")
root=/opt/system
mkdir -p "$root/var/lib/dpkg" "$root/etc"
cp /var/lib/dpkg/status "$root/var/lib/dpkg/status"
for deb in "$here"/*.deb; do
    dpkg-deb --extract "$deb" "$root"
    { echo; dpkg-deb --field "$deb" | sed '1a Status: install ok installed'; } >> "$root/var/lib/dpkg/status"
done
# Documentation, as the base is trimmed of it.
rm -rf "$root/usr/share/doc" "$root/usr/share/man" "$root/usr/share/info" "$root/usr/share/locale"
# A merged-/usr base has /bin, /lib, ... as links into /usr: a package's files there go to /usr, so that copying
# over the root never replaces those links with folders.
for dir in bin sbin lib lib32 lib64 libx32; do
    if [ -L "/$dir" ] && [ -d "$root/$dir" ] && [ ! -L "$root/$dir" ]; then
        mkdir -p "$root/usr/$dir"
        cp -a "$root/$dir/." "$root/usr/$dir/"
        rm -rf "${root:?}/$dir"
    fi
done
cp -a "$root/." /
# New shared libraries under multiarch folders are found through the linker's cache only.
ldconfig
cp /etc/ld.so.cache "$root/etc/ld.so.cache"
rm -rf "$here"
