#!/usr/bin/env bash
# install-deps.sh: installs the Debian packages ncsn needs to build, test and analyse.
# (python3-sklearn: the digits data of scripts/make-digits.sh; python3-pandas: analysis's r.df;
# python3-venv: the test that installs analysis/ with pip into a virtual environment.)
# Idempotent: installs only what is missing, and runs apt-get update only then.
# Run as root (or with sudo available).
#   scripts/install-deps.sh            what building, testing and analysing need
#   scripts/install-deps.sh --slurm    also SLURM and munge, for the SLURM test
#                                      (tests/slurm/, scripts/test-slurm.sh); nothing is
#                                      started or enabled (no systemd needed)
set -euo pipefail

packages=(
  build-essential cmake pkg-config git
  libopenmpi-dev openmpi-bin
  libhdf5-dev hdf5-tools
  libcunit1-dev libyaml-dev librandom123-dev libgsl-dev
  python3-h5py python3-numpy python3-matplotlib python3-pytest python3-sklearn
  python3-pandas python3-venv
)
for arg in "$@"; do
  case $arg in
    --slurm) packages+=(slurmctld slurmd slurm-client munge) ;;
    *) echo "install-deps: unknown option $arg (--slurm)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null; then sudo="sudo"; else
    echo "install-deps: missing ${missing[*]}; run this script as root" >&2
    exit 1
  fi
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
