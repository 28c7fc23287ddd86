#!/usr/bin/env bash
# Build the real Pulumi engine from Go modules into .toolchain/bin, with our Python language host and the
# dynamic-provider plugin beside it.
# Idempotent: a stamp records what was built; a second run with nothing changed takes about a second.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
bin="$root/.toolchain/bin"
stamp="$bin/.stamp"
sdk_module=github.com/pulumi/pulumi/sdk/v3
pkg_module=github.com/pulumi/pulumi/pkg/v3

say() { printf '[toolchain] %s\n' "$*" >&2; }
fail() { printf '[toolchain] ERROR: %s\n' "$*" >&2; exit 1; }

command -v go >/dev/null || fail "Go is not installed (need go >= 1.26.6 on PATH)"
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0

cd "$here"
# The engine must be exactly the version of the pulumi PyPI package the project pins (pyproject.toml).
py_version=$(sed -n 's/.*"pulumi==\([0-9.]*\)".*/\1/p' "$root/pyproject.toml")
go_version=$(go list -m -f '{{.Version}}' "$pkg_module") || fail "cannot read $pkg_module from toolchain/go.mod"
sdk_version=$(go list -m -f '{{.Version}}' "$sdk_module")
[ "v$py_version" = "$go_version" ] && [ "$go_version" = "$sdk_version" ] ||
  fail "version mismatch: pyproject pins pulumi==$py_version, toolchain/go.mod has pkg $go_version and sdk $sdk_version"

python="$root/.venv/bin/python"
[ -x "$python" ] || fail "the project's virtualenv is missing ($python): run \`make install\` first"

# Our two scripts in bin, with this checkout's paths filled in: the language host and the provider plugin.
install_scripts() {
  sed -e "s|@PYTHON@|$python|g" -e "s|@LANGHOST@|$here/langhost/__main__.py|g" \
    "$here/pulumi-language-python" > "$bin/pulumi-language-python.new"
  sed -e "s|@PYTHON@|$python|g" -e "s|@HANDOFF@|$root/providers/host_handoff.py|g" \
    "$here/pulumi-resource-pulumi-python" > "$bin/pulumi-resource-pulumi-python.new"
  for script in pulumi-language-python pulumi-resource-pulumi-python; do
    chmod 0755 "$bin/$script.new" && mv -f "$bin/$script.new" "$bin/$script"
  done
}

want="$go_version $(cat go.mod go.sum build.sh | sha256sum | cut -c1-16) $(go env GOVERSION)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x "$bin/pulumi" ] &&
   [ -x "$bin/pulumi-language-python-exec" ] && [ -x "$root/.toolchain/libexec/pulumi-resource-pulumi-python" ]; then
  install_scripts
  say "pulumi $go_version is up to date in .toolchain/bin"
  exit 0
fi

mkdir -p "$bin"
say "building pulumi $go_version from Go modules (first run downloads ~400 modules and compiles for ~6 minutes"
say "on 2 cores; later runs reuse the Go module and build caches)"
# -X stamps the version: without it `pulumi version` prints nothing and the Automation API refuses the CLI.
go build -trimpath -tags osusergo,grpcnotrace \
  -ldflags "-s -w -X $sdk_module/go/common/version.Version=$go_version" \
  -o "$bin/" "$pkg_module/cmd/pulumi" || fail "go build of $pkg_module/cmd/pulumi failed (see above)"

# The dynamic-provider shim ships inside the sdk/v3 module zip of the same version (python/dist/). It goes to
# libexec; the plugin the engine finds in bin is ours, which runs it unless a pre-started host takes the request.
sdk_dir=$(go list -m -f '{{.Dir}}' "$sdk_module")
[ -n "$sdk_dir" ] && [ -f "$sdk_dir/python/dist/pulumi-resource-pulumi-python" ] ||
  fail "$sdk_module $sdk_version has no python/dist/pulumi-resource-pulumi-python"
mkdir -p "$root/.toolchain/libexec"
install -m 0755 "$sdk_dir/python/dist/pulumi-resource-pulumi-python" "$root/.toolchain/libexec/"
# The SDK's exec script runs a program for the language host, which finds it next to itself.
install -m 0755 "$sdk_dir/python/cmd/pulumi-language-python-exec" "$bin/"
install_scripts

got=$(PULUMI_SKIP_UPDATE_CHECK=true "$bin/pulumi" version)
[ "$got" = "$go_version" ] || fail "built engine reports '$got', expected $go_version"
echo "$want" > "$stamp"
say "pulumi $got ready in .toolchain/bin"
