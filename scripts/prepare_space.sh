#!/usr/bin/env bash
# Prepares the Hugging Face Space copy of the studio in OUT (a new folder): the committed files
# the Space runs (app.py, core/, studio/, train/, assets/, requirements.txt, README.md with its
# Space header), a .gitattributes that routes weights and other binary files through Git LFS
# (the Hub refuses them as plain git blobs), and, when git-lfs is installed, a git repository
# with one commit, ready to push.
#
#   bash scripts/prepare_space.sh OUT [REF]     # REF: the commit to copy, default HEAD
#
# This repository keeps its weights as ordinary git blobs (its CI clones without git-lfs);
# only the Space copy uses LFS. Nothing is pushed: the last lines printed say how.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
  echo "usage: bash scripts/prepare_space.sh OUT [REF]" >&2
  exit 2
fi
OUT="$1"
REF="${2:-HEAD}"
if [ -e "$OUT" ] && [ -n "$(ls -A "$OUT" 2>/dev/null)" ]; then
  echo "$OUT exists and is not empty; give a new folder for the Space copy." >&2
  exit 2
fi
# What the Space runs: the app and the packages it imports, the embedded bundle and samples.
# tests/, bench/ and docs/ stay out (bench's judge weights are for benchmarks only).
PATHS=(app.py core studio train assets requirements.txt README.md pyproject.toml)
mkdir -p "$OUT"
git archive --format=tar "$REF" -- "${PATHS[@]}" | tar -x -C "$OUT"

# Every binary or weight file goes through LFS: the Hub refuses binary files and files over
# 10 MiB pushed as plain git blobs.
cat > "$OUT/.gitattributes" <<'EOF'
*.safetensors filter=lfs diff=lfs merge=lfs -text
*.bin filter=lfs diff=lfs merge=lfs -text
*.pt filter=lfs diff=lfs merge=lfs -text
*.pth filter=lfs diff=lfs merge=lfs -text
*.ckpt filter=lfs diff=lfs merge=lfs -text
*.onnx filter=lfs diff=lfs merge=lfs -text
*.npy filter=lfs diff=lfs merge=lfs -text
*.npz filter=lfs diff=lfs merge=lfs -text
*.png filter=lfs diff=lfs merge=lfs -text
*.jpg filter=lfs diff=lfs merge=lfs -text
*.jpeg filter=lfs diff=lfs merge=lfs -text
*.webp filter=lfs diff=lfs merge=lfs -text
*.gif filter=lfs diff=lfs merge=lfs -text
*.mp4 filter=lfs diff=lfs merge=lfs -text
*.wav filter=lfs diff=lfs merge=lfs -text
*.mp3 filter=lfs diff=lfs merge=lfs -text
*.pdf filter=lfs diff=lfs merge=lfs -text
*.zip filter=lfs diff=lfs merge=lfs -text
EOF

# A file the patterns miss that is binary or over 10 MiB would be refused by the Hub: stop here.
git -C "$OUT" init --quiet
missed=()
while IFS= read -r -d '' file; do
  rel="${file#"$OUT"/}"
  [ "$rel" = ".gitattributes" ] && continue
  if [ "$(git -C "$OUT" check-attr filter -- "$rel" | awk '{print $NF}')" = "lfs" ]; then
    continue
  fi
  if [ "$(stat -c %s "$file")" -gt $((10 * 1024 * 1024)) ] || grep -qP '\x00' "$file"; then
    missed+=("$rel")
  fi
done < <(find "$OUT" -path "$OUT/.git" -prune -o -type f -print0)
if [ ${#missed[@]} -gt 0 ]; then
  echo "These files are binary or over 10 MiB but no LFS pattern in $OUT/.gitattributes covers them;" \
       "add their extension to scripts/prepare_space.sh: ${missed[*]}" >&2
  exit 1
fi

if git lfs version >/dev/null 2>&1; then
  git -C "$OUT" lfs install --local >/dev/null
  git -C "$OUT" add -A
  git -C "$OUT" -c user.name="MovieDreamer Studio" -c user.email="studio@localhost" commit --quiet \
    -m "MovieDreamer Studio $(git rev-parse --short "$REF")"
  echo "Space copy committed in $OUT ($(git -C "$OUT" lfs ls-files | wc -l) files in LFS). Push it with:"
  echo "  git -C $OUT remote add space https://huggingface.co/spaces/USER/SPACE"
  echo "  git -C $OUT push --force space HEAD:main"
else
  echo "Space copy written to $OUT, but git-lfs is not installed, so it was not committed" \
       "(apt-get install git-lfs, then run this script again into a new folder)."
fi
