#!/usr/bin/env bash
# sample_checkpoint.sh: `ncsn sample` is checkpointed and resumable like `ncsn run`'s
# sampling: SIGUSR1 mid-sampling exits 3 with the chains in OUT.h5.ckpt and no run file,
# and the same command resumes to the samples of an uninterrupted `ncsn sample`, bit for
# bit; --no-checkpoint writes none. And `ncsn run` and `ncsn sample` remove the
# temporaries (OUT.h5.tmp.<pid>, OUT.h5.ckpt.tmp.<pid>) a writer killed mid-write left,
# but not those of a writer that still runs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
pids=()
cleanup_more() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done; }
export OMP_NUM_THREADS=1
cd "$tmp"

"$NCSN" run -s dataset.n=200 -s train.steps=300 -s train.batch=64 -s noise.L=8 \
  -s sample.n=100 -s sample.T=5 -s sample.max_bad_fraction=1 -q -o trained.h5
# about a second of sampling on one thread, a level at a time
more=(-s sample.n=2000 -s sample.T=3000 -s sample.max_bad_fraction=1)
"$NCSN" sample trained.h5 "${more[@]}" -q --no-checkpoint -o ref.h5
[ -e ref.h5.ckpt ] && fail "--no-checkpoint left a checkpoint"

"$NCSN" sample trained.h5 "${more[@]}" -s sample.checkpoint_every=1 -o s.h5 2> err &
pid=$!
pids+=("$pid")
for _ in $(seq 2000); do [ -e s.h5.ckpt ] && break; sleep 0.01; done
[ -e s.h5.ckpt ] || fail "no periodic checkpoint"
kill -USR1 "$pid"
set +e
wait "$pid"
rc=$?
set -e
[ "$rc" -eq 3 ] || fail "ncsn sample after SIGUSR1: exit $rc ($(cat err))"
grep -q "^ncsn sample: interrupted by SIGUSR1 at sampling level .* its state is in s.h5.ckpt" err ||
  fail "message: $(tail -1 err)"
[ -e s.h5 ] && fail "a run file after SIGUSR1"
[ -e s.h5.ckpt ] || fail "no checkpoint after SIGUSR1"
OMP_NUM_THREADS=2 "$NCSN" sample trained.h5 "${more[@]}" -o s.h5 2> err || fail "resume: $(cat err)"
grep -q "^resuming from s.h5.ckpt: sampling level" err || fail "did not resume: $(cat err)"
[ -e s.h5.ckpt ] && fail "the checkpoint outlived the finished run file"
"$PY" -c 'import sys, h5same; h5same.same_run(sys.argv[1], sys.argv[2])' ref.h5 s.h5 ||
  fail "resumed samples differ from an uninterrupted ncsn sample"
echo "ncsn sample: interrupted and resumed to the same samples"

# temporaries: a dead writer's are removed, a live one's kept
sleep 0 &
dead=$!
wait "$dead"
sleep 30 &
live=$!
pids+=("$live")
for cmd in run sample; do
  for f in out.h5.tmp.$dead out.h5.ckpt.tmp.$dead out.h5.tmp.$live; do echo x > "$f"; done
  if [ $cmd = run ]; then
    "$NCSN" run -s dataset.n=200 -s train.steps=20 -s train.batch=64 -s noise.L=3 \
      -s sample.n=20 -s sample.T=2 -s sample.max_bad_fraction=1 -q -o out.h5 --force
  else
    "$NCSN" sample trained.h5 -s sample.n=20 -s sample.T=2 -s sample.max_bad_fraction=1 -q \
      -o out.h5 --force
  fi
  [ -e out.h5.tmp.$dead ] && fail "$cmd: kept a dead writer's out.h5.tmp.$dead"
  [ -e out.h5.ckpt.tmp.$dead ] && fail "$cmd: kept a dead writer's out.h5.ckpt.tmp.$dead"
  [ -e out.h5.tmp.$live ] || fail "$cmd: removed a live writer's temporary"
  rm -f out.h5.tmp.$live
done
kill "$live"
wait "$live" 2> /dev/null || true

all_passed
