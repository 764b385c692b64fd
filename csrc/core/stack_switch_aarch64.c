/* mt_switch_call for AArch64 (AAPCS64: Linux, macOS); see stack_switch.h. */
#include "stack_switch.h"

#if defined(__aarch64__)
#include "stack_asm.h"

/* x0 = sp, x1 = fn, x2 = arg, x3 = saved. x29, callee-saved, keeps the
** way back; the CFA is defined from it for unwinders. `hint #34` is BTI's
** landing pad (a no-op on cores without it). */
__asm__(".text\n"
        ".globl " MT_ASM_SYM(mt_switch_call) "\n"
        MT_ASM_FUNC(mt_switch_call)
        ".p2align 2\n"
        MT_ASM_SYM(mt_switch_call) ":\n"
        ".cfi_startproc\n"
        "  hint #34\n"
        "  stp x29, x30, [sp, #-16]!\n"
        ".cfi_def_cfa_offset 16\n"
        ".cfi_offset x30, -8\n"
        ".cfi_offset x29, -16\n"
        "  mov x29, sp\n"
        ".cfi_def_cfa_register x29\n"
        "  mov x9, sp\n"
        "  str x9, [x3]\n"
        "  mov sp, x0\n"
        "  mov x0, x2\n"
        "  blr x1\n"
        "  mov sp, x29\n"
        "  ldp x29, x30, [sp], #16\n"
        ".cfi_def_cfa sp, 0\n"
        "  ret\n"
        ".cfi_endproc\n"
        MT_ASM_END(mt_switch_call));
#else
typedef int mt_not_aarch64; /* the translation unit must not be empty */
#endif
