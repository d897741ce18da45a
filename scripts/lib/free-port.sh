# Sourced by the scripts that start a server: prints a local TCP port that
# nothing answers on, using bash's /dev/tcp (no other tool needed).
free_port() {
    local candidate
    for _ in $(seq 1 100); do
        candidate=$((20000 + RANDOM % 40000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "no free local port found" >&2
    return 1
}
