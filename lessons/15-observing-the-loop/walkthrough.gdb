# walkthrough.gdb — lesson 15: stop inside the blocking call and ask the loop what everyone is
# doing. Run from the repository root:
#   gdb -q -x lessons/15-observing-the-loop/walkthrough.gdb build/lessons/15-observing-the-loop/demo
set pagination off
set print pretty off
# The demo asks for a dump with SIGUSR1 later on: let it through to the program.
handle SIGUSR1 nostop noprint pass
# The third thumbnail is the big photo: skip the first two.
break make_thumbnail
ignore 1 2
run
# Where the loop is: inside the resizer's step, called by the tick's run_one.
backtrace 6
print ns / 1000000
# The task dump, from gdb: the resizer is the running one; the others wait on their sleeps.
call observe_tasks_dump(0, s->loop, stdout)
call loop_dump(s->loop, stdout)
delete
continue
