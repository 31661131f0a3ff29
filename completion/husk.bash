# bash completion for husk(8): commands, each command's flags and their values, and container
# ids (from `husk list -q`, under the --root given on the line).

_husk_container_ids() {
    local root=$1
    husk ${root:+--root "$root"} list -q 2>/dev/null
}

_husk() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
    local commands="create start run exec state list kill delete pause resume update ps events spec features checkpoint restore help"
    local global_values="--root --log --log-format --rootless --criu"
    local global_flags="--debug --systemd-cgroup --version -v --help -h"

    # Flags taking a value, and flags that do not, per command.
    local values flags
    local create_values="--bundle -b --console-socket --pid-file --pidfd-socket --preserve-fds"
    local create_flags="--no-pivot --no-new-keyring"

    # The command: the first word after the global flags (and their values).
    local i w cmd="" cmd_at=0 root=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            --root | -root) root=${COMP_WORDS[i + 1]}; ((i++)) ;;
            --root=* | -root=*) root=${w#*=} ;;
            --log | -log | --log-format | -log-format | --rootless | -rootless | --criu | -criu) ((i++)) ;;
            -*) ;;
            *) cmd=$w; cmd_at=$i; break ;;
        esac
    done

    if [[ -z $cmd ]]; then
        case $prev in
            --root | -root) COMPREPLY=($(compgen -d -- "$cur")); return ;;
            --log | -log | --criu | -criu) COMPREPLY=($(compgen -f -- "$cur")); return ;;
            --log-format | -log-format) COMPREPLY=($(compgen -W "text json" -- "$cur")); return ;;
            --rootless | -rootless) COMPREPLY=($(compgen -W "auto true false" -- "$cur")); return ;;
        esac
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global_values $global_flags" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "$commands" -- "$cur"))
        fi
        return
    fi

    case $cmd in
        create) values=$create_values flags=$create_flags ;;
        run) values=$create_values flags="$create_flags --detach -d --keep" ;;
        exec)
            values="--process -p --console-socket --pid-file --pidfd-socket --env -e --cwd --user -u
                    --additional-gids -g --cap -c --apparmor --process-label --preserve-fds --cgroup"
            flags="--tty -t --detach -d --no-new-privs --ignore-paused"
            ;;
        kill) values="" flags="--all -a" ;;
        delete) values="" flags="--force -f" ;;
        list) values="--format -f" flags="--quiet -q" ;;
        ps) values="--format -f" flags="" ;;
        events) values="--interval" flags="--stats" ;;
        spec) values="--bundle -b" flags="--rootless" ;;
        update)
            values="--resources -r --blkio-weight --cpu-period --cpu-quota --cpu-burst --cpu-share --cpu-shares
                    --cpu-rt-period --cpu-rt-runtime --cpuset-cpus --cpuset-mems --cpu-idle --kernel-memory
                    --kernel-memory-tcp --memory --memory-reservation --memory-swap --pids-limit"
            flags=""
            ;;
        checkpoint)
            values="--image-path --work-path --manage-cgroups-mode --parent-path"
            flags="--tcp-established --ext-unix-sk --shell-job --file-locks --leave-running --pre-dump"
            ;;
        restore)
            values="--image-path --work-path --manage-cgroups-mode --bundle -b --pid-file --console-socket"
            flags="--tcp-established --ext-unix-sk --shell-job --file-locks --detach -d --no-subreaper --no-pivot"
            ;;
        start | state | pause | resume | features) values="" flags="" ;;
        help) COMPREPLY=($(compgen -W "$commands" -- "$cur")); return ;;
        *) return ;;
    esac
    flags="$flags --help -h"

    # A flag's value.
    if [[ $prev == -* && " $values " == *" $prev "* ]]; then
        case $prev in
            --bundle | -b | --cwd) COMPREPLY=($(compgen -d -- "$cur")) ;;
            --format | -f) COMPREPLY=($(compgen -W "table json" -- "$cur")) ;;
            --cap | -c)
                local caps
                caps=$(husk features 2>/dev/null | sed -n 's/^ *"\(CAP_[A-Z_]*\)",\{0,1\}$/\1/p')
                COMPREPLY=($(compgen -W "$caps" -- "$cur"))
                ;;
            --console-socket | --pid-file | --pidfd-socket | --process | -p | --resources | -r)
                COMPREPLY=($(compgen -f -- "$cur"))
                ;;
            *) COMPREPLY=() ;;
        esac
        return
    fi

    # Flags come before the first argument; count the arguments so far.
    local nargs=0 skip=0
    for ((i = cmd_at + 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        if ((skip)); then skip=0; continue; fi
        if ((nargs == 0)) && [[ $w == -* ]]; then
            [[ $w != *=* && " $values " == *" $w "* ]] && skip=1
            continue
        fi
        ((nargs++))
    done

    if ((nargs == 0)) && [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "$values $flags" -- "$cur"))
        return
    fi
    case $cmd in
        spec | list | features) return ;;
    esac
    if ((nargs == 0)); then
        COMPREPLY=($(compgen -W "$(_husk_container_ids "$root")" -- "$cur"))
    elif [[ $cmd == kill && nargs -eq 1 ]]; then
        COMPREPLY=($(compgen -W "KILL TERM INT HUP QUIT USR1 USR2 STOP CONT SIGKILL SIGTERM SIGINT SIGHUP SIGQUIT
                                 SIGUSR1 SIGUSR2 SIGSTOP SIGCONT" -- "$cur"))
    elif [[ $cmd == exec && nargs -eq 1 ]]; then
        COMPREPLY=($(compgen -c -- "$cur"))
    fi
}

complete -F _husk husk
