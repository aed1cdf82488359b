#!/bin/sh
# check_badinput_table.sh ROOT [README]
# check_badinput_table.sh ROOT --self-test
#
# Keeps the README's "Bad inputs" table and the tests behind it from drifting
# apart. For every row (| Bnn | input | stderr | exit | `file.c` `test_fn`, ... |):
#   - the id is Bnn and no other row has it;
#   - the exit column is one or more exit codes;
#   - the row names a test file that exists and at least one test function;
#   - each function is defined there, registered with cmocka_unit_test*, and
#     its body holds the id as a string ("Bnn"), i.e. it asserts that row.
# And the other way round: every "Bnn" string in those test files is a row.
#
# --self-test breaks a copy of the table in each of those ways and requires
# every copy to be refused (and the real table to pass), so this check is
# known to be able to fail.
set -u

root=${1:?usage: check_badinput_table.sh ROOT [README | --self-test]}
TAB=$(printf '\t')

# The table's rows as "row<TAB>id<TAB>exit<TAB>file<TAB>function" (one line per
# function, row = the row's line number; "-" for a missing file or function).
rows() {
    awk -v tab="$TAB" '
        /^### Bad inputs/ { inside = 1; next }
        inside && /^#/ { inside = 0 }
        inside && /^[|] *B/ {
            n = split($0, cell, "|")
            id = cell[2]; code = cell[5]; test = cell[n - 1]
            gsub(/^ +| +$/, "", id); gsub(/^ +| +$/, "", code)
            file = "-"; count = 0
            while (match(test, /`[^`]+`/)) {
                tok = substr(test, RSTART + 1, RLENGTH - 2)
                test = substr(test, RSTART + RLENGTH)
                if (tok ~ /\.c$/) file = tok
                else if (tok ~ /^test_/) { fn[++count] = tok }
            }
            if (count == 0) print NR tab id tab code tab file tab "-"
            for (i = 1; i <= count; i++) print NR tab id tab code tab file tab fn[i]
        }' "$1"
}

# The body of C function $2 in file $1: its definition line to the first "}".
body() {
    sed -n "/^static void $2(void \*\*state)\$/,/^}\$/p" "$1"
}

# Prints one line per problem; returns 1 if there was any.
check() {
    readme=$1
    all=$(rows "$readme")
    if [ -z "$all" ]; then
        echo "$readme: no rows in a \"### Bad inputs\" table"
        return 1
    fi
    bad=0
    dups=$(printf '%s\n' "$all" | cut -f1,2 | sort -u | cut -f2 | sort | uniq -d)
    for d in $dups; do
        echo "row $d: the id is used by more than one row"
        bad=1
    done
    while IFS="$TAB" read -r _ id code file fn; do
        case $id in B[0-9][0-9]) ;; *) echo "row '$id': id is not Bnn"; bad=1 ;; esac
        if ! printf '%s\n' "$code" | grep -Eq '^[0-9]+(, [0-9]+)*$'; then
            echo "row $id: exit column '$code' is not a list of exit codes"
            bad=1
        fi
        if [ "$file" = - ] || [ ! -f "$root/$file" ]; then
            echo "row $id: test file '$file' does not exist"
            bad=1
            continue
        fi
        if [ "$fn" = - ]; then
            echo "row $id: names no test function"
            bad=1
        elif [ -z "$(body "$root/$file" "$fn")" ]; then
            echo "row $id: $file has no test function $fn"
            bad=1
        elif ! grep -Eq "cmocka_unit_test[a-z_]*\\($fn[,)]" "$root/$file"; then
            echo "row $id: $fn in $file is not registered with CMocka (it never runs)"
            bad=1
        elif ! body "$root/$file" "$fn" | grep -q "\"$id\""; then
            echo "row $id: $fn in $file does not mention \"$id\" (it does not back this row)"
            bad=1
        fi
    done <<EOF
$all
EOF
    ids=$(printf '%s\n' "$all" | cut -f2 | sort -u)
    for file in $(printf '%s\n' "$all" | cut -f4 | sort -u); do
        [ -f "$root/$file" ] || continue
        for used in $(grep -o '"B[0-9][0-9]"' "$root/$file" | tr -d '"' | sort -u); do
            if ! printf '%s\n' "$ids" | grep -qx "$used"; then
                echo "$file: asserts row $used, which the table does not have"
                bad=1
            fi
        done
    done
    return $bad
}

# A copy of README with sed expression $2 applied must be refused ($1 says why).
must_fail() {
    sed "$2" "$root/README.md" >"$tmp/README.md"
    if cmp -s "$root/README.md" "$tmp/README.md"; then
        echo "self-test: '$1': the edit changed nothing (update the self-test)"
        return 1
    fi
    if out=$(check "$tmp/README.md"); then
        echo "self-test: '$1': the broken table passed"
        return 1
    fi
    echo "self-test: '$1': refused: $(printf '%s\n' "$out" | head -n 1)"
}

self_test() {
    tmp=$(mktemp -d) || exit 1
    trap 'rm -rf "$tmp"' EXIT
    ok=0
    check "$root/README.md" >/dev/null || { echo "self-test: the real table fails"; ok=1; }
    must_fail "duplicate id" 's/^| B02 |/| B01 |/' || ok=1
    must_fail "unknown function" 's/`test_cli_bad_manifest`/`test_cli_no_such_test`/' || ok=1
    must_fail "function not backing the row" \
        '/^| B22 |/s/`test_cli_key_file_errors`/`test_cli_inspect_text_shows_every_image`/' || ok=1
    must_fail "missing test file" '/^| B29 |/s/test_cli_badreply\.c/test_cli_gone.c/' || ok=1
    must_fail "row dropped, test still asserts it" '/^| B45 |/d' || ok=1
    must_fail "exit code not a number" '/^| B01 |/s/| 66 |/| sixty-six |/' || ok=1
    return $ok
}

if [ "${2:-}" = --self-test ]; then
    self_test
    exit $?
fi
check "${2:-$root/README.md}"
