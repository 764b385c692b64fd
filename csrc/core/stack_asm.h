/*
** Assembler spelling that differs between ELF (Linux) and Mach-O (macOS),
** for the stack_switch_<arch>.c files.
*/
#ifndef MTINT_STACK_ASM_H
#define MTINT_STACK_ASM_H

#ifdef __APPLE__
#define MT_ASM_SYM(name) "_" #name
#define MT_ASM_FUNC(name) ".private_extern " MT_ASM_SYM(name) "\n"
#define MT_ASM_END(name) ""
#else
#define MT_ASM_SYM(name) #name
#define MT_ASM_FUNC(name) ".hidden " #name "\n.type " #name ", @function\n"
#define MT_ASM_END(name) ".size " #name ", .-" #name "\n"
#endif

#endif
