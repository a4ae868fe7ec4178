/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * pvkit store smoke test: a bare multiboot guest (no kernel) that connects
 * the store (STORE_SETUP), sends xenstore requests over the ring, prints
 * every reply on the debugcon (port 0xe9; control bytes shown as "|" or
 * digit-ish), then corrupts req_prod and prints the ring error field,
 * disconnects and connects again (qmp-run.py then checks that migration
 * is refused while connected).  Run by run.sh.
 */
#define RING 0x200000
#define HC(nr) movl $nr, %eax; movw $0x560, %dx; outl %eax, %dx
        .section .text
        .code32
        .globl _start
        .align 4
mb:     .long 0x1BADB002
        .long 0
        .long -(0x1BADB002)
_start:
        movl $0x90000, %esp
        /* zero the ring page */
        movl $RING, %edi
        xorl %eax, %eax
        movl $1024, %ecx
        rep stosl
        /* STORE_SETUP(RING) */
        movl $RING, %edi
        HC(19)
        movl %eax, port
        call print_hex           /* port */
        /* second setup -> -EBUSY (-16) */
        movl $RING, %edi
        HC(19)
        call print_hex
        /* send messages one after another */
        movl $msgs, %esi
1:      movl (%esi), %ecx        /* total length incl header, 0 = end */
        testl %ecx, %ecx
        jz done
        addl $4, %esi
        movl RING+2052, %edi     /* req_prod */
        movl %edi, %ebx
2:      andl $1023, %edi
        movb (%esi), %al
        movb %al, RING(%edi)
        incl %esi
        incl %ebx
        movl %ebx, %edi
        decl %ecx
        jnz 2b
        movl %ebx, RING+2052     /* publish req_prod */
        pushl %esi
        movl port, %edi
        HC(11)                   /* EVTCHN_SEND(port) */
        popl %esi
        /* wait for a reply: rsp_prod changes */
3:      pause
        movl RING+2060, %eax
        cmpl %eax, RING+2056
        je 3b
        /* wait a bit more so every reply (and watch events) arrive */
        movl $3000000, %ecx
4:      pause
        loop 4b
        call drain
        jmp 1b
done:
        /* hostile: req_prod runs 5000 ahead -> error field RINGIDX (2) */
        addl $5000, RING+2052
        movl port, %edi
        HC(11)
        movl $300000000, %ecx
4:      pause
        cmpl $0, RING+2072
        loopz 4b
        movl RING+2072, %eax     /* error */
        call print_hex
        /* STORE_SETUP(0) */
        xorl %edi, %edi
        HC(19)
        call print_hex
        /* connect again and stay connected: migration must be blocked */
        movl $RING, %edi
        HC(19)
        call print_hex
        movl $'$', %eax
        outb %al, $0xe9
        cli
9:      hlt
        jmp 9b

/* print everything in rsp, bytes < 0x20 as '|' */
drain:
        movl RING+2056, %ebx     /* rsp_cons */
5:      cmpl RING+2060, %ebx
        je 6f
        movl %ebx, %edi
        andl $1023, %edi
        movb RING+1024(%edi), %al
        cmpb $0x20, %al
        jae 7f
        addb $0x30, %al          /* show control bytes as digits-ish */
        cmpb $0x30, %al
        jne 7f
        movb $'|', %al
7:      outb %al, $0xe9
        incl %ebx
        jmp 5b
6:      movl %ebx, RING+2056
        movb $'\n', %al
        outb %al, $0xe9
        ret

print_hex:                       /* eax */
        movl $8, %ecx
        movl %eax, %edx
8:      roll $4, %edx
        movl %edx, %eax
        andl $15, %eax
        movb hexd(%eax), %al
        outb %al, $0xe9
        loop 8b
        movb $'\n', %al
        outb %al, $0xe9
        ret

hexd:   .ascii "0123456789abcdef"
        .align 4
port:   .long 0
#define MSG(type, id, tx, str) .long 16 + 9f - 8f; .long type, id, tx, 9f - 8f; 8: .ascii str; 9:
msgs:
        MSG(2, 1, 0, "domid\0")                       /* READ -> 1 */
        MSG(11, 2, 0, "data/x\0hello")                /* WRITE -> OK */
        MSG(2, 3, 0, "/local/domain/1/data/x\0")      /* READ -> hello */
        MSG(1, 4, 0, "/local/domain/1\0")             /* DIRECTORY */
        MSG(4, 5, 0, "data\0tok\0")                   /* WATCH -> OK + event */
        MSG(11, 6, 0, "data/y\0v")                    /* WRITE -> OK + event */
        MSG(11, 7, 0, "/local/domain/0/z\0v")         /* WRITE -> EACCES */
        MSG(99, 8, 0, "x\0")                          /* unknown -> EINVAL */
        MSG(2, 9, 0, "nonul")                         /* EINVAL */
        MSG(6, 10, 0, "\0")                           /* TRANSACTION_START -> 1 */
        MSG(11, 20, 2, "data/t\0a")                   /* WRITE in tx 2 -> OK */
        MSG(11, 21, 0, "data/t\0b")                   /* WRITE outside -> OK */
        MSG(7, 22, 2, "T\0")                          /* commit tx 2 -> EAGAIN */
        MSG(2, 23, 0, "data/t\0")                     /* READ -> b */
        .long 16                                      /* READ no payload -> EINVAL */
        .long 2, 25, 0, 0
        MSG(3, 11, 0, "/local/domain/1\0")            /* GET_PERMS */
        MSG(10, 12, 0, "1\0")                         /* GET_DOMAIN_PATH */
        MSG(13, 13, 0, "data/y\0")                    /* RM -> OK + event */
        .long 16                                      /* header only, len 4097 -> E2BIG */
        .long 2, 24, 0, 4097                          /* (the next 4097 bytes are dropped) */
        .long 0
