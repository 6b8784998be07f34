#!/bin/sh
# See LICENSE file for copyright and license details.
#
# tests/tls.sh: throwaway TLS fixtures for tests.sh, and real OpenSSL peers
# on loopback to point vtcode's TLS client at.
#
#   sh tests/tls.sh certs DIR
#	Writes into DIR (created if missing), with the openssl CLI only:
#	  ca.pem ca.key              test root CA
#	  good.pem good.key          CN=localhost, SAN localhost proxied.test
#	                             127.0.0.1 ::1 (expired and unknown too),
#	                             valid from now for 30 days, serverAuth
#	  wrongname.pem .key         same CA, CN and only SAN wrong.example
#	  expired.pem .key           same CA, right names, 2020-01-01..2021-01-01
#	  other-ca.pem other-ca.key  a second, unrelated CA
#	  unknown.pem .key           right names, signed by other-ca
#	  NAME-chain.pem             leaf then its CA, for every leaf NAME
#	EC P-256 keys and SHA-256 throughout. Silent on success.
#
#   sh tests/tls.sh serve DIR NAME BACKEND_PORT PORTFILE [tls13]
#	Starts socat in the background: a TLS server on 127.0.0.1 (a port the
#	kernel picks) that presents DIR/NAME-chain.pem with DIR/NAME.key and
#	relays each decrypted connection to plain TCP 127.0.0.1:BACKEND_PORT.
#	PORTFILE gets the port once the socket is listening (and not before);
#	stdout gets socat's PID, for stop. socat's log goes to PORTFILE.log.
#	With tls13 the server refuses anything below TLS 1.3, so a TLS 1.2
#	client is answered with a protocol_version alert.
#
#   sh tests/tls.sh stop PID
#	Ends a server started by serve and the children it forked for
#	connections still open, and waits until they are gone. A PID that is
#	no longer running is not an error; one that is not socat is refused.
# A && B || die is meant: die if either fails.
# shellcheck disable=SC2015
set -u

prog=tls.sh
die() {
	echo "$prog: $*" >&2
	exit 1
}
usage() {
	die "usage: tls.sh certs DIR | serve DIR NAME BACKEND_PORT PORTFILE [tls13] | stop PID"
}
isnum() {
	case $1 in
	'' | *[!0-9]*) return 1 ;;
	esac
}

# certs DIR
certs() {
	mkdir -p "$1" || die "cannot create $1"
	cd "$1" || die "cannot enter $1"
	# scratch: the openssl config, the CA database and the requests
	w=.tls-scratch
	rm -rf "$w" && mkdir "$w" || die "cannot create $1/$w"
	log=$w/log
	cat >"$w/openssl.cnf" <<'EOF'
[ req ]
distinguished_name = req_dn
[ req_dn ]

[ v3_ca ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ ca ]
default_ca = ca_default
[ ca_default ]
database = .tls-scratch/index.txt
new_certs_dir = .tls-scratch
rand_serial = yes
default_md = sha256
policy = policy_cn
unique_subject = no
email_in_dn = no
copy_extensions = none
[ policy_cn ]
commonName = supplied

[ leaf_local ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, DNS:proxied.test, IP:127.0.0.1, IP:::1
[ leaf_wrong ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
EOF
	: >"$w/index.txt"
	cnf=$w/openssl.cnf

	# run CMD...: quiet unless it fails
	run() {
		"$@" >"$log" 2>&1 || {
			sed 's/^/    /' "$log" >&2
			die "failed: $*"
		}
	}
	key() {
		run openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
			-pkeyopt ec_param_enc:named_curve -out "$1.key"
	}
	# ca NAME CN
	ca() {
		key "$1"
		run openssl req -config "$cnf" -new -x509 -sha256 -days 365 \
			-key "$1.key" -subj "/CN=$2" -extensions v3_ca -out "$1.pem"
	}
	# leaf NAME CA CN EXTENSIONS VALIDITY...
	leaf() {
		n=$1 c=$2 cn=$3 ext=$4
		shift 4
		key "$n"
		run openssl req -config "$cnf" -new -sha256 -key "$n.key" \
			-subj "/CN=$cn" -out "$w/$n.csr"
		run openssl ca -config "$cnf" -batch -notext -cert "$c.pem" \
			-keyfile "$c.key" -in "$w/$n.csr" -extensions "$ext" \
			-out "$n.pem" "$@"
		cat "$n.pem" "$c.pem" >"$n-chain.pem" || die "cannot write $n-chain.pem"
	}

	ca ca "vtcode test CA"
	ca other-ca "vtcode unrelated test CA"
	leaf good ca localhost leaf_local -days 30
	leaf wrongname ca wrong.example leaf_wrong -days 30
	leaf expired ca localhost leaf_local \
		-startdate 20200101000000Z -enddate 20210101000000Z
	leaf unknown other-ca localhost leaf_local -days 30
	rm -rf "$w"
}

# serve DIR NAME BACKEND_PORT PORTFILE [tls13]
serve() {
	[ $# -eq 4 ] || [ $# -eq 5 ] || usage
	d=$1 name=$2 backend=$3 portfile=$4 mode=${5-}
	case $name in
	'' | *[!A-Za-z0-9_.-]*) die "serve: bad NAME '$name'" ;;
	esac
	isnum "$backend" || die "serve: bad BACKEND_PORT '$backend'"
	[ -r "$d/$name-chain.pem" ] && [ -r "$d/$name.key" ] ||
		die "serve: no $d/$name-chain.pem or $d/$name.key (run certs first)"
	case $mode in
	'') proto= ;;
	tls13) proto=,openssl-min-proto-version=TLS1.3 ;;
	*) die "serve: unknown mode '$mode' (only tls13)" ;;
	esac
	command -v socat >/dev/null 2>&1 || die "serve: socat not found"
	log=$portfile.log
	rm -f "$portfile" "$portfile.tmp"
	: >"$log"        # there before the first look, not when socat opens it
	# Port 0: the kernel hands out a free port when socat binds, so no
	# other process can take it between choosing and binding. socat is
	# started in DIR so the file names need no quoting in its address
	# syntax. At -d -d it logs "listening on AF=2 127.0.0.1:PORT" right
	# after listen(2), once the certificate and key have loaded; from then
	# on a connect succeeds.
	(cd "$d" && exec socat -d -d \
		"OPENSSL-LISTEN:0,bind=127.0.0.1,reuseaddr,fork,cert=$name-chain.pem,key=$name.key,verify=0$proto" \
		"TCP:127.0.0.1:$backend") </dev/null >"$log" 2>&1 &
	pid=$!
	i=0
	while :; do
		port=$(sed -n '/ listening on AF=2 127\.0\.0\.1:[0-9][0-9]*$/{
			s/.*://p
			q
		}' "$log")
		[ -n "$port" ] && break
		if ! kill -0 "$pid" 2>/dev/null; then
			sed 's/^/    /' "$log" >&2
			die "serve: socat exited before listening"
		fi
		i=$((i + 1))
		if [ $i -ge 500 ]; then
			kill "$pid" 2>/dev/null
			sed 's/^/    /' "$log" >&2
			die "serve: socat not listening after 5 s"
		fi
		sleep 0.01
	done
	echo "$port" >"$portfile.tmp" && mv -f "$portfile.tmp" "$portfile" || {
		kill "$pid" 2>/dev/null
		die "serve: cannot write $portfile"
	}
	echo "$pid"
}

# gone PID: not running (a zombie waiting for its reaper counts as gone)
gone() {
	st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
	case $st in
	'' | Z*) return 0 ;;
	esac
	return 1
}

# stop PID
stop() {
	[ $# -eq 1 ] || usage
	pid=$1
	isnum "$pid" && [ "$pid" -gt 1 ] || die "stop: bad PID '$pid'"
	gone "$pid" && return 0
	comm=$(ps -o comm= -p "$pid" 2>/dev/null)
	[ "$comm" = socat ] || die "stop: PID $pid is '$comm', not socat"
	# Freeze the listener so it forks nothing while its children are
	# listed; the TERM it is sent meanwhile takes effect on CONT.
	kill -STOP "$pid" 2>/dev/null
	kids=$(pgrep -P "$pid")
	# shellcheck disable=SC2086 # one PID a word
	kill -TERM "$pid" $kids 2>/dev/null
	kill -CONT "$pid" 2>/dev/null
	i=0
	for p in "$pid" $kids; do
		while ! gone "$p"; do
			i=$((i + 1))
			if [ $i -ge 200 ]; then
				kill -KILL "$p" 2>/dev/null
				i=0
				break
			fi
			sleep 0.01
		done
	done
	return 0
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
certs)
	[ $# -eq 1 ] || usage
	certs "$1"
	;;
serve) serve "$@" ;;
stop) stop "$@" ;;
*) usage ;;
esac
