/*
** The one piece of machine code behind stack.c, one file per architecture
** (stack_switch_x86_64.c, stack_switch_aarch64.c).
**
** mt_switch_call stores the current stack pointer in *saved, calls fn(arg)
** with the stack pointer set to `sp` (16-byte aligned, the top of free
** memory), and returns on the original stack once fn returns. The frame it
** keeps carries unwind information, so debuggers and crash reports see
** through the switch.
*/
#ifndef MTINT_STACK_SWITCH_H
#define MTINT_STACK_SWITCH_H

void mt_switch_call(void *sp, void (*fn)(void *), void *arg, void **saved);

#endif
