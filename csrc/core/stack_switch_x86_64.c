/* mt_switch_call for x86-64 (System V: Linux, macOS); see stack_switch.h. */
#include "stack_switch.h"

#if defined(__x86_64__)
#include "stack_asm.h"

/* rdi = sp, rsi = fn, rdx = arg, rcx = saved. rbp, callee-saved, keeps
** the way back; the CFA is defined from it for unwinders. */
__asm__(".text\n"
        ".globl " MT_ASM_SYM(mt_switch_call) "\n"
        MT_ASM_FUNC(mt_switch_call)
        ".p2align 4\n"
        MT_ASM_SYM(mt_switch_call) ":\n"
        ".cfi_startproc\n"
        "  pushq %rbp\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset %rbp, -16\n"
        "  movq %rsp, %rbp\n"
        ".cfi_def_cfa_register %rbp\n"
        "  movq %rsp, (%rcx)\n"
        "  movq %rdi, %rsp\n"
        "  movq %rdx, %rdi\n"
        "  callq *%rsi\n"
        "  movq %rbp, %rsp\n"
        "  popq %rbp\n"
        ".cfi_def_cfa %rsp, 8\n"
        "  retq\n"
        ".cfi_endproc\n"
        MT_ASM_END(mt_switch_call));
#else
typedef int mt_not_x86_64; /* the translation unit must not be empty */
#endif
