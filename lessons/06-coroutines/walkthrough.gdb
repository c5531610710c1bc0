# walkthrough.gdb — lesson 06 in gdb: stop inside the Fibonacci coroutine three times and print
# the line it will resume at. Run it (make test does, and checks that the lines advance):
#   gdb -batch -nx -x lessons/06-coroutines/walkthrough.gdb build/lessons/06-coroutines/demo
# gen_fib_step lives in generators.c, apart from main, so even at -O2 it is a real call gdb can
# stop at, and f->co.line is read from the frame that call was given.
set pagination off
set confirm off
# Quiet gdb's chatter that changes from build to build (addresses, process ids).
set print inferior-events off

# `pipe ... | cat > /dev/null` sets the breakpoint without printing its address.
pipe break gen_fib_step | cat > /dev/null
commands
  silent
  printf "stopped in gen_fib_step: f->co.line = %d, f->co.state = ", f->co.line
  output (enum coro_state) f->co.state
  if f->co.line == 0
    printf "\n  new: the body starts at the top\n"
  else
    printf "\n  it resumes after line %d of %s\n", f->co.line, f->co.file
  end
end

# The demo's own narration goes to /dev/null: only gdb speaks.
run > /dev/null
continue
continue
printf "three stops, three resume points: the frame remembers where, nothing else does.\n"
# Stop the demo here rather than let it finish (a sanitizer's leak check cannot run under gdb).
kill
