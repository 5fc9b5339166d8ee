#!/usr/bin/env bash
# Set up everything `make run` and `make test` need on a fresh Debian 12 machine:
# system packages (installed with apt-get when root, otherwise the exact line is printed),
# then .venv with the package and its test extras. Re-running is cheap: pip only runs
# again when pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."

# WeasyPrint needs Pango and harfbuzz-subset (fast font subsetting); poppler-utils gives
# pdftotext/pdftoppm/pdfsig for tests; chromium for browser tests; postgresql for the
# PostgreSQL test run and multi-server deployments.
PACKAGES=(python3-venv libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-liberation2
          fonts-dejavu-core poppler-utils chromium postgresql)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  line="apt-get install -y --no-install-recommends ${missing[*]}"
  if [[ $(id -u) -eq 0 ]]; then
    echo "Installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $line -qq
  else
    echo "Missing system packages. Run as root:" >&2
    echo "  sudo apt-get update && sudo $line" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [[ ! -f $stamp ]]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# The English catalogue of the service's own words (Dutch is the source; see forms_service/i18n.py).
.venv/bin/pybabel compile -d forms_service/translations >/dev/null

# The OIDC login tests start a real OpenID provider (npm oidc-provider, tests/oidc/).
# Needs Node.js 20+ and npm; without them those tests are skipped.
if ! command -v npm >/dev/null 2>&1 && [[ $(id -u) -eq 0 ]]; then
  echo "Installing Node.js and npm for the OIDC provider of the tests"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm || true
fi
if command -v npm >/dev/null 2>&1; then
  oidc_stamp=tests/oidc/node_modules/.installed-$(sha256sum tests/oidc/package-lock.json | cut -c1-16)
  if [[ ! -f $oidc_stamp ]]; then
    (cd tests/oidc && npm ci --no-audit --no-fund --loglevel=error)
    rm -f tests/oidc/node_modules/.installed-*
    touch "$oidc_stamp"
  fi
  # axe-core for the accessibility test (tests/test_accessibility.py, tests/a11y/).
  axe_stamp=tests/a11y/node_modules/.installed-$(sha256sum tests/a11y/package-lock.json | cut -c1-16)
  if [[ ! -f $axe_stamp ]]; then
    (cd tests/a11y && npm ci --no-audit --no-fund --loglevel=error)
    rm -f tests/a11y/node_modules/.installed-*
    touch "$axe_stamp"
  fi
else
  echo "Note: npm not found; the OIDC login and accessibility tests will be skipped (apt-get install nodejs npm, Node 20+)." >&2
fi
