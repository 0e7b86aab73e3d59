#!/usr/bin/env bash
# `make sysdeps`: the optional system pieces of the test suite, each checked by name.
#
#   a headless browser and its driver  (the browser check of the built book, the Lab test)
#   bubblewrap                         (the grader's sandbox; without it the grader refuses)
#   on Debian, its Fashion-MNIST package (elsewhere `make data` downloads the set, checksummed)
#
# On Debian (as root, with apt-get) the missing ones are installed, one package at a time, so
# that one unknown name cannot drop the others. Elsewhere (Ubuntu packages Chromium as a snap,
# which a container or CI runner cannot run) nothing is installed: the script names what is
# missing and how to get it. GitHub's Ubuntu runners have Google Chrome and ChromeDriver.
# Each missing piece is reported by name; with STRICT=1 (CI) a missing piece is an error,
# otherwise the tests that need it are skipped with that reason.
set -uo pipefail

STRICT="${STRICT:-}"
missing=()

have_browser() {
    { command -v chromium || command -v chromium-browser || command -v google-chrome; } \
        >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1
}
have_fashion() { [ -d /usr/share/datasets/fashion-mnist ]; }
have_bwrap() { command -v bwrap >/dev/null 2>&1; }

distribution="unknown"
if [ -r /etc/os-release ]; then
    distribution="$(. /etc/os-release && echo "${ID:-unknown}")"
fi

install_debian() {  # install each named package on its own; report the ones that fail
    local package
    for package in "$@"; do
        if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$package" >/dev/null; then
            echo "sysdeps: could not install the Debian package $package" >&2
        fi
    done
}

wanted=()
have_browser || wanted+=(chromium chromium-driver)
[ "$distribution" = "debian" ] && ! have_fashion && wanted+=(dataset-fashion-mnist)
have_bwrap || wanted+=(bubblewrap)

if [ "${#wanted[@]}" -gt 0 ]; then
    if [ "$distribution" = "debian" ] && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
        echo "sysdeps: installing ${wanted[*]}"
        apt-get update -qq || echo "sysdeps: apt-get update failed" >&2
        install_debian "${wanted[@]}"
    elif [ "$distribution" = "debian" ]; then
        echo "sysdeps: not root, so ${wanted[*]} are not installed (sudo make sysdeps)"
    fi
fi

have_browser || missing+=("a browser and its driver: chromium + chromedriver on the PATH (Debian: apt-get install chromium chromium-driver; elsewhere Google Chrome and the matching ChromeDriver)")
have_bwrap || missing+=("bubblewrap, the grader's sandbox (apt-get install bubblewrap)")
if [ "$distribution" = "debian" ] && ! have_fashion; then
    missing+=("Debian's Fashion-MNIST (apt-get install dataset-fashion-mnist; or make data)")
fi

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
for piece in "${missing[@]}"; do
    if [ -n "$STRICT" ]; then
        echo "sysdeps: MISSING $piece" >&2
    else
        echo "sysdeps: missing $piece; the tests that need it are skipped"
    fi
done
if [ -n "$STRICT" ]; then
    exit 1
fi
exit 0
