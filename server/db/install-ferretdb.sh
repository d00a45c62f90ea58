#!/usr/bin/env bash
# Builds FerretDB (the MongoDB-compatible server used when MONGODB_URI is unset, and by the tests)
# from the Go module proxy, and prints the path of the binary. The build is cached per machine.
#
# The proxy refuses v1.24.1 and v1.24.2 here, and `go install …@v1.24.0` fails on the module
# list lookup, so we fetch the v1.24.0 module by exact version and build it from a copy. The copy
# gets build/version/version.txt, which FerretDB's own release tooling would have written.
#
# One line is patched: the SQLite backend creates its _id index on `_ferretdb_sjson->"_id"` but
# queries `_ferretdb_sjson->'$._id'`, so SQLite never uses the index and every _id lookup scans
# the whole collection (intake became O(n) per message: 47 ms at 250 cases, 176 ms at 1,500).
# The patch makes the query use the index's own expression; results are the same.
set -euo pipefail
version="${FERRETDB_VERSION:-v1.24.0}"
cache="${TOCSIN_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/tocsin}"
bin="$cache/ferretdb-$version-idindex/ferretdb"
if [ -x "$bin" ] && "$bin" --version >/dev/null 2>&1; then
  echo "$bin"
  exit 0
fi
[ -z "${TOCSIN_FERRETDB_CACHED_ONLY:-}" ] || exit 1
command -v go >/dev/null || { echo "Go is needed to build FerretDB: install Go 1.22 or newer, or set MONGODB_URI." >&2; exit 1; }
work="$(mktemp -d)"
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
cd "$work"
src="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
[ -n "$src" ] || { echo "Could not download github.com/FerretDB/FerretDB@$version from the Go module proxy." >&2; exit 1; }
cp -r "$src" "$work/src"
chmod -R u+w "$work/src"
echo "$version" > "$work/src/build/version/version.txt"
meta="$work/src/internal/backends/sqlite/metadata/metadata.go"
perl -pi -e 's/IDColumn = DefaultColumn \+ "->\x27\$\._id\x27"/IDColumn = DefaultColumn + `->"_id"`/' "$meta"
grep -qF 'IDColumn = DefaultColumn + `->"_id"`' "$meta" || { echo "FerretDB $version: could not patch the _id column in $meta." >&2; exit 1; }
mkdir -p "$(dirname "$bin")"
(cd "$work/src" && go build -trimpath -o "$bin.tmp" ./cmd/ferretdb) >&2
mv "$bin.tmp" "$bin"
echo "$bin"
