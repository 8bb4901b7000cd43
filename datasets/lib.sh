# Shared helpers for datasets/fetch-* scripts (POSIX sh; sourced). The caller sets $cache (download
# cache, extracted packages under $cache/x/PKG), $out (OUTDIR) and $tmpman (manifest being written)
# and defines die(). Same semantics and manifest columns as datasets/fetch-dna (see README.md).

# fetch PKG: download the .deb once into the cache and extract it to $cache/x/PKG; prints the .deb
fetch() {
  pkg=$1
  deb=$(ls "$cache"/"${pkg}"_*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    (cd "$cache" && apt-get download "$pkg" >/dev/null 2>&1) || die "apt-get download $pkg failed"
    deb=$(ls "$cache"/"${pkg}"_*.deb | head -n1)
  fi
  rm -rf "$cache/x/$pkg"
  mkdir -p "$cache/x/$pkg"
  dpkg-deb -x "$deb" "$cache/x/$pkg"
  echo "$deb"
}
version_of() { dpkg-deb -f "$(ls "$cache"/"$1"_*.deb | head -n1)" Version; }
licence_of() { # first License: line of the files stanza (Debian machine-readable copyright)
  awk '/^License:/{sub(/^License: */,""); print; exit}' "$cache/x/$1/usr/share/doc/$1/copyright" 2>/dev/null || echo unknown
}
sha() { sha256sum "$1" | cut -d' ' -f1; }
# record KIND PKG PATH-IN-PACKAGE LOCAL-FILE NOTE: one manifest row
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$(version_of "$2")" "$3" "${4#$out/}" "$(sha "$4")" \
    "$(licence_of "$2")" "$5" >> "$tmpman"
}
