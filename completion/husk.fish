# fish completion for husk(8): commands, each command's flags and their values, and container
# ids (from `husk list -q`, under the --root given on the line).

set -l husk_commands create start run exec state list kill delete pause resume update ps events spec features checkpoint restore help

function __husk_container_ids
    command -q husk; or return
    set -l words (commandline -opc)
    set -l root
    for i in (seq (count $words))
        switch $words[$i]
            case --root -root
                test $i -lt (count $words); and set root $words[(math $i + 1)]
            case '--root=*' '-root=*'
                set root (string replace -r -- '^--?root=' '' $words[$i])
        end
    end
    if test -n "$root"
        husk --root $root list -q 2>/dev/null
    else
        husk list -q 2>/dev/null
    end
end

# Global options, before the command.
complete -c husk -f
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l root -r -F -d 'state directory'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l log -r -F -d 'log file'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l log-format -x -a 'text json' -d 'log format'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l debug -d 'log debug messages too'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l systemd-cgroup -d 'make the container cgroup a systemd unit'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l rootless -x -a 'auto true false' -d 'rootless mode'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -l criu -r -F -d 'accepted for runc compatibility and ignored'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -s v -l version -d 'print the version'
complete -c husk -s h -l help -d 'print the help'

# Commands.
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a create -d 'create a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a start -d 'run the process of a created container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a run -d 'create and start a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a exec -d 'run a process in a running container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a state -d 'print the state of a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a list -d 'list containers'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a kill -d "send a signal to a container's init"
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a delete -d 'delete a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a pause -d 'freeze a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a resume -d 'thaw a paused container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a update -d "update a container's cgroup resources"
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a ps -d 'list the processes of a container'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a events -d "print a container's resource usage and OOM events"
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a spec -d 'write a default config.json'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a features -d 'print the features husk supports'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a checkpoint -d 'not supported (no CRIU)'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a restore -d 'not supported (no CRIU)'
complete -c husk -n "not __fish_seen_subcommand_from $husk_commands" -a help -d 'print the commands and global options'
complete -c husk -n "__fish_seen_subcommand_from help" -a "$husk_commands"

# Container ids, for the commands that take one.
complete -c husk -n "__fish_seen_subcommand_from start run exec state kill delete pause resume update ps events" -a '(__husk_container_ids)'

# create and run.
for c in create run
    complete -c husk -n "__fish_seen_subcommand_from $c" -s b -l bundle -x -a '(__fish_complete_directories)' -d 'the bundle directory'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l console-socket -r -F -d 'unix socket for the terminal master fd'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l pid-file -r -F -d 'write the init pid to this file'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l pidfd-socket -r -F -d 'unix socket for a pidfd of init'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l no-pivot -d 'move the rootfs onto / instead of pivot_root'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l no-new-keyring -d 'keep the session keyring'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l preserve-fds -x -d 'pass N more fds'
end
complete -c husk -n "__fish_seen_subcommand_from run" -s d -l detach -d 'return once the container runs'
complete -c husk -n "__fish_seen_subcommand_from run" -l keep -d 'do not delete the container when it exits'

# exec.
complete -c husk -n "__fish_seen_subcommand_from exec" -s p -l process -r -F -d 'run the process in this JSON file'
complete -c husk -n "__fish_seen_subcommand_from exec" -s t -l tty -d 'give the process a terminal'
complete -c husk -n "__fish_seen_subcommand_from exec" -s d -l detach -d 'return once the process runs'
complete -c husk -n "__fish_seen_subcommand_from exec" -l console-socket -r -F -d 'unix socket for the terminal master fd'
complete -c husk -n "__fish_seen_subcommand_from exec" -l pid-file -r -F -d 'write the process pid to this file'
complete -c husk -n "__fish_seen_subcommand_from exec" -l pidfd-socket -r -F -d 'unix socket for a pidfd of the process'
complete -c husk -n "__fish_seen_subcommand_from exec" -s e -l env -x -d 'set an environment variable (KEY=VALUE)'
complete -c husk -n "__fish_seen_subcommand_from exec" -l cwd -x -d 'working directory in the container'
complete -c husk -n "__fish_seen_subcommand_from exec" -s u -l user -x -d 'run as UID[:GID]'
complete -c husk -n "__fish_seen_subcommand_from exec" -s g -l additional-gids -x -d 'add a supplementary group'
complete -c husk -n "__fish_seen_subcommand_from exec" -s c -l cap -x -d 'add a capability'
complete -c husk -n "__fish_seen_subcommand_from exec" -l no-new-privs -d 'set no_new_privs'
complete -c husk -n "__fish_seen_subcommand_from exec" -l apparmor -x -d 'AppArmor profile'
complete -c husk -n "__fish_seen_subcommand_from exec" -l process-label -x -d 'SELinux process label'
complete -c husk -n "__fish_seen_subcommand_from exec" -l preserve-fds -x -d 'pass N more fds'
complete -c husk -n "__fish_seen_subcommand_from exec" -l cgroup -x -d 'sub-cgroup to run in ([CONTROLLER:]PATH)'
complete -c husk -n "__fish_seen_subcommand_from exec" -l ignore-paused -d 'run even if the container is paused'

# The others.
complete -c husk -n "__fish_seen_subcommand_from kill" -s a -l all -d 'signal every process in the cgroup'
complete -c husk -n "__fish_seen_subcommand_from kill" -a 'KILL TERM INT HUP QUIT USR1 USR2 STOP CONT'
complete -c husk -n "__fish_seen_subcommand_from delete" -s f -l force -d 'kill a running container first'
complete -c husk -n "__fish_seen_subcommand_from list" -s f -l format -x -a 'table json' -d 'output format'
complete -c husk -n "__fish_seen_subcommand_from list" -s q -l quiet -d 'print the ids only'
complete -c husk -n "__fish_seen_subcommand_from ps" -s f -l format -x -a 'table json' -d 'output format'
complete -c husk -n "__fish_seen_subcommand_from events" -l stats -d 'print one stats event and exit'
complete -c husk -n "__fish_seen_subcommand_from events" -l interval -x -d 'time between stats events'
complete -c husk -n "__fish_seen_subcommand_from spec" -s b -l bundle -x -a '(__fish_complete_directories)' -d 'write config.json here'
complete -c husk -n "__fish_seen_subcommand_from spec" -l rootless -d 'a config for a user other than root'

# update.
complete -c husk -n "__fish_seen_subcommand_from update" -s r -l resources -r -F -d 'LinuxResources JSON file, - for stdin'
complete -c husk -n "__fish_seen_subcommand_from update" -l blkio-weight -x -d 'block IO weight, 10 to 1000'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-period -x -d 'CFS period in microseconds'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-quota -x -d 'CFS quota in microseconds'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-burst -x -d 'CFS burst in microseconds'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-share -x -d 'CPU shares'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-shares -x -d 'CPU shares'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-rt-period -x -d 'realtime period in microseconds'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-rt-runtime -x -d 'realtime runtime in microseconds'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpuset-cpus -x -d 'CPUs to use'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpuset-mems -x -d 'memory nodes to use'
complete -c husk -n "__fish_seen_subcommand_from update" -l cpu-idle -x -a '0 1' -d 'SCHED_IDLE for the container'
complete -c husk -n "__fish_seen_subcommand_from update" -l kernel-memory -x -d 'kernel memory limit'
complete -c husk -n "__fish_seen_subcommand_from update" -l kernel-memory-tcp -x -d 'kernel TCP buffer limit'
complete -c husk -n "__fish_seen_subcommand_from update" -l memory -x -d 'memory limit'
complete -c husk -n "__fish_seen_subcommand_from update" -l memory-reservation -x -d 'memory soft limit'
complete -c husk -n "__fish_seen_subcommand_from update" -l memory-swap -x -d 'memory plus swap limit'
complete -c husk -n "__fish_seen_subcommand_from update" -l pids-limit -x -d 'maximum number of tasks'

# checkpoint and restore: runc's flags, accepted and ignored (no CRIU).
for c in checkpoint restore
    complete -c husk -n "__fish_seen_subcommand_from $c" -l image-path -x -a '(__fish_complete_directories)' -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l work-path -x -a '(__fish_complete_directories)' -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l manage-cgroups-mode -x -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l tcp-established -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l ext-unix-sk -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l shell-job -d 'ignored'
    complete -c husk -n "__fish_seen_subcommand_from $c" -l file-locks -d 'ignored'
end
complete -c husk -n "__fish_seen_subcommand_from checkpoint" -l parent-path -x -a '(__fish_complete_directories)' -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from checkpoint" -l leave-running -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from checkpoint" -l pre-dump -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -s b -l bundle -x -a '(__fish_complete_directories)' -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -s d -l detach -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -l pid-file -r -F -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -l console-socket -r -F -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -l no-subreaper -d 'ignored'
complete -c husk -n "__fish_seen_subcommand_from restore" -l no-pivot -d 'ignored'
