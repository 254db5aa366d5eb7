# cli_lib.sh: what the CLI tests share (sourced after setting EBMC and DIR): `check` and `refuse` run a
# command with its output in DIR/out and DIR/err and set fail=1 when it does not do what is expected.
fail=0
check() { # check DESCRIPTION COMMAND...: the command must succeed
    desc=$1; shift
    if ! "$@" >"$DIR/out" 2>"$DIR/err"; then echo "FAIL: $desc"; cat "$DIR/err"; fail=1; fi
}
refuse() { # refuse DESCRIPTION PATTERN COMMAND...: must fail, with PATTERN on stderr
    desc=$1; pattern=$2; shift 2
    if "$@" >"$DIR/out" 2>"$DIR/err"; then echo "FAIL: $desc: exit 0"; fail=1
    elif ! grep -q -- "$pattern" "$DIR/err"; then echo "FAIL: $desc: no '$pattern' in:"; cat "$DIR/err"; fail=1; fi
}
