#!/usr/bin/env bash
# Installs Debian's chromium for the browser test when it is missing, and a CJK font so the
# report's Chinese labels are drawn in its screenshots. Runs apt-get as root (or via sudo).
set -euo pipefail
have_font() { command -v fc-list > /dev/null && fc-list | grep -qiE "WenQuanYi|Noto Sans CJK"; }
if [ -x /usr/bin/chromium ] && have_font; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
echo "install-chromium: installing Debian's chromium and fonts-wqy-microhei with apt-get" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends chromium fonts-wqy-microhei > /dev/null
/usr/bin/chromium --version >&2
