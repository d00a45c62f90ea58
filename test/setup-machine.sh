#!/usr/bin/env bash
# What `npm test` needs beyond node_modules: Dovecot (IMAP and LMTP, run per test run on loopback
# ports), Chromium and dbus-daemon (the PWA's browser tests) and, unless MONGODB_URI points at a server, a FerretDB build. Installs what is missing
# when it can (root with apt-get), and otherwise says in one line what to install.
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -x /usr/sbin/dovecot ] || missing+=(dovecot-imapd)
[ -e /usr/lib/dovecot/lmtp ] || missing+=(dovecot-lmtpd)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A session bus for the notification shade the browser tests tap (test/support/notification-shade.ts).
[ -x /usr/bin/dbus-daemon ] || missing+=(dbus-daemon)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "installing ${missing[*]} for the integration tests" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "The tests need Dovecot, Chromium and dbus-daemon: install ${missing[*]} (Debian/Ubuntu: sudo apt-get install ${missing[*]})." >&2
    exit 1
  fi
fi

if [ -z "${MONGODB_URI:-}" ]; then
  bash server/db/install-ferretdb.sh >/dev/null
fi
