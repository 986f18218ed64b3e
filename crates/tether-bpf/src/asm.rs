//! A small eBPF assembler: the instructions the data-plane programs need, with named
//! labels for jumps. Little-endian hosts only (`bpfel`).

#[cfg(target_endian = "big")]
compile_error!("tether-bpf assembles little-endian eBPF");

use std::collections::HashMap;
use std::os::fd::RawFd;

/// A register, `r0` … `r10`.
pub type Reg = u8;

/// Load/store sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    /// 1 byte.
    B,
    /// 2 bytes.
    H,
    /// 4 bytes.
    W,
    /// 8 bytes.
    Dw,
}

impl Size {
    fn bits(self) -> u8 {
        match self {
            Size::W => 0x00,
            Size::H => 0x08,
            Size::B => 0x10,
            Size::Dw => 0x18,
        }
    }
}

/// Jump conditions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    /// `==`.
    Eq,
    /// `!=`.
    Ne,
    /// `>` (unsigned).
    Gt,
}

impl Cond {
    fn bits(self) -> u8 {
        match self {
            Cond::Eq => 0x10,
            Cond::Gt => 0x20,
            Cond::Ne => 0x50,
        }
    }
}

const CLASS_LDX: u8 = 0x01;
const CLASS_ST: u8 = 0x02;
const CLASS_STX: u8 = 0x03;
const CLASS_ALU: u8 = 0x04;
const CLASS_JMP: u8 = 0x05;
const CLASS_JMP32: u8 = 0x06;
const CLASS_ALU64: u8 = 0x07;
const MODE_MEM: u8 = 0x60;
const SRC_X: u8 = 0x08;

/// A program being written.
#[derive(Debug, Default)]
pub struct Asm {
    insns: Vec<[u8; 8]>,
    labels: HashMap<String, usize>,
    /// (instruction index, label) of jumps to resolve.
    fixups: Vec<(usize, String)>,
    /// Labels placed twice.
    duplicates: Vec<String>,
}

/// Errors of [`Asm::finish`].
#[derive(Debug, thiserror::Error)]
pub enum AsmError {
    /// A jump to a label never placed.
    #[error("no label {0:?}")]
    NoLabel(String),
    /// A jump too far.
    #[error("jump to {0:?} out of range")]
    Range(String),
    /// A label placed twice.
    #[error("label {0:?} placed twice")]
    Duplicate(String),
}

impl Asm {
    /// An empty program.
    pub fn new() -> Self {
        Self::default()
    }

    fn raw(&mut self, code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> &mut Self {
        let mut i = [0u8; 8];
        i[0] = code;
        i[1] = (dst & 0x0f) | ((src & 0x0f) << 4);
        i[2..4].copy_from_slice(&off.to_le_bytes());
        i[4..8].copy_from_slice(&imm.to_le_bytes());
        self.insns.push(i);
        self
    }

    /// Places label `name` at the next instruction.
    pub fn label(&mut self, name: &str) -> &mut Self {
        if self
            .labels
            .insert(name.to_owned(), self.insns.len())
            .is_some()
        {
            self.duplicates.push(name.to_owned());
        }
        self
    }

    /// `dst = src` (64-bit).
    pub fn mov(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.raw(CLASS_ALU64 | 0xb0 | SRC_X, dst, src, 0, 0)
    }

    /// `dst = imm` (64-bit, sign-extended).
    pub fn mov_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.raw(CLASS_ALU64 | 0xb0, dst, 0, 0, imm)
    }

    /// `dst = imm` as a 32-bit move (upper half zero): a `u32` constant as is.
    pub fn mov32_imm(&mut self, dst: Reg, imm: u32) -> &mut Self {
        self.raw(CLASS_ALU | 0xb0, dst, 0, 0, imm as i32)
    }

    /// `dst += imm` (64-bit).
    pub fn add_imm(&mut self, dst: Reg, imm: i32) -> &mut Self {
        self.raw(CLASS_ALU64, dst, 0, 0, imm)
    }

    /// `dst &= imm` (32-bit).
    pub fn and32_imm(&mut self, dst: Reg, imm: u32) -> &mut Self {
        self.raw(CLASS_ALU | 0x50, dst, 0, 0, imm as i32)
    }

    /// `dst += src` (32-bit).
    pub fn add32(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.raw(CLASS_ALU | SRC_X, dst, src, 0, 0)
    }

    /// `dst %= src` (32-bit, unsigned; `dst` unchanged when `src` is 0).
    pub fn mod32(&mut self, dst: Reg, src: Reg) -> &mut Self {
        self.raw(CLASS_ALU | 0x90 | SRC_X, dst, src, 0, 0)
    }

    /// `dst %= imm` (32-bit, unsigned).
    pub fn mod32_imm(&mut self, dst: Reg, imm: u32) -> &mut Self {
        self.raw(CLASS_ALU | 0x90, dst, 0, 0, imm as i32)
    }

    /// `dst = *(size *)(src + off)`.
    pub fn ldx(&mut self, size: Size, dst: Reg, src: Reg, off: i16) -> &mut Self {
        self.raw(CLASS_LDX | MODE_MEM | size.bits(), dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = src`.
    pub fn stx(&mut self, size: Size, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.raw(CLASS_STX | MODE_MEM | size.bits(), dst, src, off, 0)
    }

    /// `*(size *)(dst + off) = imm`.
    pub fn st(&mut self, size: Size, dst: Reg, off: i16, imm: i32) -> &mut Self {
        self.raw(CLASS_ST | MODE_MEM | size.bits(), dst, 0, off, imm)
    }

    /// `*(u32 *)(dst + off) += src`, atomically.
    pub fn atomic_add32(&mut self, dst: Reg, off: i16, src: Reg) -> &mut Self {
        self.raw(CLASS_STX | 0xc0, dst, src, off, 0)
    }

    /// `dst = map` (the `ld_imm64` pseudo load of a map descriptor).
    pub fn ld_map(&mut self, dst: Reg, fd: RawFd) -> &mut Self {
        self.raw(0x18, dst, 1, 0, fd);
        self.raw(0, 0, 0, 0, 0)
    }

    fn jump(&mut self, code: u8, dst: Reg, src: Reg, imm: i32, to: &str) -> &mut Self {
        self.fixups.push((self.insns.len(), to.to_owned()));
        self.raw(code, dst, src, 0, imm)
    }

    /// `goto to`.
    pub fn ja(&mut self, to: &str) -> &mut Self {
        self.jump(CLASS_JMP, 0, 0, 0, to)
    }

    /// `if dst <cond> imm goto to` (64-bit compare, `imm` sign-extended).
    pub fn jmp_imm(&mut self, cond: Cond, dst: Reg, imm: i32, to: &str) -> &mut Self {
        self.jump(CLASS_JMP | cond.bits(), dst, 0, imm, to)
    }

    /// `if (u32)dst <cond> imm goto to`.
    pub fn jmp32_imm(&mut self, cond: Cond, dst: Reg, imm: u32, to: &str) -> &mut Self {
        self.jump(CLASS_JMP32 | cond.bits(), dst, 0, imm as i32, to)
    }

    /// `if dst <cond> src goto to` (64-bit compare).
    pub fn jmp_reg(&mut self, cond: Cond, dst: Reg, src: Reg, to: &str) -> &mut Self {
        self.jump(CLASS_JMP | cond.bits() | SRC_X, dst, src, 0, to)
    }

    /// `if (u32)dst <cond> (u32)src goto to`.
    pub fn jmp32_reg(&mut self, cond: Cond, dst: Reg, src: Reg, to: &str) -> &mut Self {
        self.jump(CLASS_JMP32 | cond.bits() | SRC_X, dst, src, 0, to)
    }

    /// Calls helper number `helper` (arguments in r1–r5, result in r0).
    pub fn call(&mut self, helper: i32) -> &mut Self {
        self.raw(CLASS_JMP | 0x80, 0, 0, 0, helper)
    }

    /// `return r0`.
    pub fn exit(&mut self) -> &mut Self {
        self.raw(CLASS_JMP | 0x90, 0, 0, 0, 0)
    }

    /// The program's bytes, jumps resolved.
    pub fn finish(mut self) -> Result<Vec<u8>, AsmError> {
        if let Some(name) = self.duplicates.first() {
            return Err(AsmError::Duplicate(name.clone()));
        }
        for (at, to) in std::mem::take(&mut self.fixups) {
            let target = *self
                .labels
                .get(&to)
                .ok_or_else(|| AsmError::NoLabel(to.clone()))?;
            let off = i16::try_from(target as i64 - at as i64 - 1)
                .map_err(|_| AsmError::Range(to.clone()))?;
            self.insns[at][2..4].copy_from_slice(&off.to_le_bytes());
        }
        Ok(self.insns.concat())
    }
}

/// Helper numbers (`enum bpf_func_id`).
pub mod helper {
    /// `bpf_map_lookup_elem(map, key)`.
    pub const MAP_LOOKUP_ELEM: i32 = 1;
    /// `bpf_map_update_elem(map, key, value, flags)`.
    pub const MAP_UPDATE_ELEM: i32 = 2;
    /// `bpf_map_delete_elem(map, key)`.
    pub const MAP_DELETE_ELEM: i32 = 3;
    /// `bpf_get_prandom_u32()`.
    pub const GET_PRANDOM_U32: i32 = 7;
    /// `bpf_skb_store_bytes(skb, offset, from, len, flags)`.
    pub const SKB_STORE_BYTES: i32 = 9;
    /// `bpf_l3_csum_replace(skb, offset, from, to, size)`.
    pub const L3_CSUM_REPLACE: i32 = 10;
    /// `bpf_l4_csum_replace(skb, offset, from, to, flags)`.
    pub const L4_CSUM_REPLACE: i32 = 11;
    /// `bpf_redirect(ifindex, flags)`.
    pub const REDIRECT: i32 = 23;
    /// `bpf_redirect_neigh(ifindex, params, plen, flags)`.
    pub const REDIRECT_NEIGH: i32 = 152;
    /// `bpf_redirect_peer(ifindex, flags)`.
    pub const REDIRECT_PEER: i32 = 155;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_resolves_jumps() {
        let mut a = Asm::new();
        a.mov_imm(0, 0)
            .jmp_imm(Cond::Eq, 1, 5, "out")
            .mov32_imm(0, 0xffff_ffff)
            .label("out")
            .exit();
        let b = a.finish().expect("assembles");
        assert_eq!(&b[0..8], &[0xb7, 0, 0, 0, 0, 0, 0, 0]);
        // jeq r1, 5, +1
        assert_eq!(&b[8..16], &[0x15, 0x01, 1, 0, 5, 0, 0, 0]);
        assert_eq!(&b[16..24], &[0xb4, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
        assert_eq!(&b[24..32], &[0x95, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn a_label_placed_twice_is_an_error() {
        let mut a = Asm::new();
        a.label("x").exit().label("x");
        assert!(matches!(a.finish(), Err(AsmError::Duplicate(_))));
    }

    #[test]
    fn unknown_label_is_an_error() {
        let mut a = Asm::new();
        a.ja("nowhere");
        assert!(matches!(a.finish(), Err(AsmError::NoLabel(_))));
    }
}
