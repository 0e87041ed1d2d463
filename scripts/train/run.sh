#!/usr/bin/env bash
# npm run train: reproduce models/default (the GOP bundle) from ../shared/speechocean762.
# Arguments go to recogniser.py (e.g. --seed 2, --minutes 10, --steps N for a bitwise rerun).
set -euo pipefail
start=$(date +%s)
bash scripts/train/requirements.sh
npx tsx scripts/train/dump.ts                       # decode train/ and dev/ with src/audio/decode.ts
/usr/bin/python3 scripts/train/recogniser.py "$@"   # K cross-fitted CTC recognisers -> acoustic.onnx
/usr/bin/python3 scripts/train/native_gop.py export --context-dependent  # the native-English phone model -> models/default/native.onnx
/usr/bin/python3 scripts/train/native_cd.py table   # its triphone table -> models/default/native-triphones.u16
npx tsx scripts/train/gop-features.ts               # alignment + GOP features with the server's code (native columns included)
/usr/bin/python3 scripts/train/phone_seq.py cv     # the phone transformer: speaker-fold predictions, blend weight
/usr/bin/python3 scripts/train/phone_seq.py fit    # ... trained on all of train/, exported for heads.py
/usr/bin/python3 scripts/train/heads.py             # boosted-tree heads (+ the phone transformer) -> heads.onnx
minutes=$(( ($(date +%s) - start + 30) / 60 ))
/usr/bin/python3 scripts/train/gop_bundle.py --total-minutes "$minutes"
npx tsx scripts/train/content-match.ts --write      # wrong-sentence model (content match) into the manifest
echo "npm run train: models/default rebuilt in ${minutes} min"
