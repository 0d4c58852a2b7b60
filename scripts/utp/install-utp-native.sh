#!/usr/bin/env bash
# Installs utp-native (the Node binding of libutp) OUTSIDE the project, for the uTP trial only: btda does not
# depend on it (README "uTP: why not (yet)"). The folder gets its own package.json whose allowScripts lets
# utp-native's install script (node-gyp-build) run: it loads the bundled linux-x64 N-API prebuild, or
# compiles libutp when none fits. Then it compiles libutp from source once more, to show that it builds
# here (needs g++, make, python3 and Node's headers in /usr/include/node).
#
#   bash scripts/utp/install-utp-native.sh [folder]     (default: $BTDA_UTP_DIR or /tmp/btda-utp-native)
set -euo pipefail
dir="${1:-${BTDA_UTP_DIR:-/tmp/btda-utp-native}}"
mkdir -p "$dir"
cd "$dir"
cat >package.json <<'JSON'
{ "name": "btda-utp-trial", "private": true, "version": "0.0.0", "allowScripts": { "utp-native": true } }
JSON
npm install --no-audit --no-fund utp-native@2.5.3
echo "--- source build of libutp + binding (node-gyp rebuild), log in $dir/node-gyp.log"
cd node_modules/utp-native
start=$(date +%s.%N)
if npx --yes node-gyp rebuild >"$dir/node-gyp.log" 2>&1; then
  echo "source build: ok in $(echo "$(date +%s.%N) - $start" | bc) s, $(grep -c 'warning:' "$dir/node-gyp.log") compiler warnings"
  ls -l build/Release/utp_native.node
else
  echo "source build FAILED (tail of the log):"; tail -20 "$dir/node-gyp.log"
fi
cd "$dir"
node -e "const u = require('utp-native'); console.log('require(\"utp-native\") ok:', Object.keys(u).join(', '))"
