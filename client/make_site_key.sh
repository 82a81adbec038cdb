#!/usr/bin/env bash
# Create this site's SuperNode key pair (EC P-384, OpenSSH format, what Flower 1.41 expects).
# Keep site/supernode.key at the site (mode 0600); send only site/supernode.pub to the
# coordinator, over a channel where they can check it came from you (and compare fingerprints).
#
#   client/make_site_key.sh [site-dir]
set -euo pipefail
dir=${1:-./site}
mkdir -p "$dir"
[[ -e "$dir/supernode.key" ]] && { echo "make_site_key.sh: $dir/supernode.key exists; not overwriting" >&2; exit 2; }
umask 077
ssh-keygen -q -t ecdsa -b 384 -N "" -C "fedft-site" -f "$dir/supernode.key"
mv "$dir/supernode.key.pub" "$dir/supernode.pub"
chmod 600 "$dir/supernode.key"; chmod 644 "$dir/supernode.pub"
echo "public key: $dir/supernode.pub"
ssh-keygen -l -f "$dir/supernode.pub"
