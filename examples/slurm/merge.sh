#!/bin/sh
# Merges the parts of a batch translated by translate.sbatch into one
# output (input order) and checks it: every input id exactly once, no id
# the input lacks, no part left unfinished. Exits non-zero, writing
# nothing, when a check fails.
#
#   examples/slurm/merge.sh in.jsonl out/ merged.jsonl
#   sbatch --dependency=afterok:JOBID examples/slurm/merge.sh in.jsonl out/ merged.jsonl
#SBATCH --job-name=hydra-merge
#SBATCH --output=hydra-merge-%j.log
set -eu
if [ $# -ne 3 ]; then
  echo "usage: merge.sh IN OUTDIR MERGED" >&2
  exit 2
fi
input=$1 outdir=$2 merged=$3
set -- "$outdir"/part-*.jsonl
if [ ! -e "$1" ]; then
  echo "merge.sh: no part-*.jsonl in $outdir" >&2
  exit 1
fi
exec "${HYDRA:-hydra}" batch-merge --batch "$input" --out "$merged" "$@"
