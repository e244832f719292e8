// DWARF constants used by the reader (DWARF 5 standard, sections 7.5-7.24, plus the GNU extensions gcc
// emits). Names are kept beside the numbers so diagnostics and tests can print what binutils prints.

export const DW_TAG = {
  array_type: 0x01, class_type: 0x02, entry_point: 0x03, enumeration_type: 0x04, formal_parameter: 0x05,
  label: 0x0a, lexical_block: 0x0b, member: 0x0d, pointer_type: 0x0f, reference_type: 0x10,
  compile_unit: 0x11, string_type: 0x12, structure_type: 0x13, subroutine_type: 0x15, typedef: 0x16,
  union_type: 0x17, unspecified_parameters: 0x18, variant: 0x19, common_block: 0x1a, inlined_subroutine: 0x1d,
  ptr_to_member_type: 0x1f, subrange_type: 0x21, base_type: 0x24, const_type: 0x26, enumerator: 0x28,
  subprogram: 0x2e, variable: 0x34, volatile_type: 0x35, restrict_type: 0x37, namespace: 0x39,
  unspecified_type: 0x3b, partial_unit: 0x3c, type_unit: 0x41, rvalue_reference_type: 0x42,
  atomic_type: 0x47, call_site: 0x48, call_site_parameter: 0x49, skeleton_unit: 0x4a,
  GNU_call_site: 0x4109, GNU_call_site_parameter: 0x410a,
} as const;

export const DW_AT = {
  sibling: 0x01, location: 0x02, name: 0x03, byte_size: 0x0b, bit_offset: 0x0c, bit_size: 0x0d,
  stmt_list: 0x10, low_pc: 0x11, high_pc: 0x12, language: 0x13, comp_dir: 0x1b, const_value: 0x1c,
  inline: 0x20, producer: 0x25, prototyped: 0x27, lower_bound: 0x22, upper_bound: 0x2f,
  abstract_origin: 0x31, count: 0x37, data_member_location: 0x38, decl_file: 0x3a, decl_line: 0x3b,
  declaration: 0x3c, encoding: 0x3e, external: 0x3f, frame_base: 0x40, specification: 0x47, type: 0x49,
  entry_pc: 0x52, ranges: 0x55, call_column: 0x57, call_file: 0x58, call_line: 0x59,
  data_bit_offset: 0x6b, linkage_name: 0x6e, str_offsets_base: 0x72, addr_base: 0x73,
  rnglists_base: 0x74, call_return_pc: 0x7d, call_origin: 0x7f, call_pc: 0x81, call_tail_call: 0x82,
  call_target: 0x83, loclists_base: 0x8c, GNU_locviews: 0x2137, GNU_entry_view: 0x2138,
  GNU_call_site_value: 0x2111, GNU_call_site_target: 0x2113, GNU_tail_call: 0x2115,
  GNU_addr_base: 0x2133, GNU_ranges_base: 0x2132, MIPS_linkage_name: 0x2007,
} as const;

export const DW_FORM = {
  addr: 0x01, block2: 0x03, block4: 0x04, data2: 0x05, data4: 0x06, data8: 0x07, string: 0x08,
  block: 0x09, block1: 0x0a, data1: 0x0b, flag: 0x0c, sdata: 0x0d, strp: 0x0e, udata: 0x0f,
  ref_addr: 0x10, ref1: 0x11, ref2: 0x12, ref4: 0x13, ref8: 0x14, ref_udata: 0x15, indirect: 0x16,
  sec_offset: 0x17, exprloc: 0x18, flag_present: 0x19, strx: 0x1a, addrx: 0x1b, ref_sup4: 0x1c,
  strp_sup: 0x1d, data16: 0x1e, line_strp: 0x1f, ref_sig8: 0x20, implicit_const: 0x21,
  loclistx: 0x22, rnglistx: 0x23, ref_sup8: 0x24, strx1: 0x25, strx2: 0x26, strx3: 0x27, strx4: 0x28,
  addrx1: 0x29, addrx2: 0x2a, addrx3: 0x2b, addrx4: 0x2c,
  GNU_addr_index: 0x1f01, GNU_str_index: 0x1f02, GNU_ref_alt: 0x1f20, GNU_strp_alt: 0x1f21,
} as const;

export const DW_UT = { compile: 1, type: 2, partial: 3, skeleton: 4, split_compile: 5, split_type: 6 } as const;

/** DW_ATE_* base type encodings. */
export const DW_ATE = {
  address: 1, boolean: 2, complex_float: 3, float: 4, signed: 5, signed_char: 6, unsigned: 7,
  unsigned_char: 8, UTF: 0x10,
} as const;

export const DW_LNS = {
  copy: 1, advance_pc: 2, advance_line: 3, set_file: 4, set_column: 5, negate_stmt: 6,
  set_basic_block: 7, const_add_pc: 8, fixed_advance_pc: 9, set_prologue_end: 10,
  set_epilogue_begin: 11, set_isa: 12,
} as const;
export const DW_LNE = { end_sequence: 1, set_address: 2, define_file: 3, set_discriminator: 4 } as const;
export const DW_LNCT = { path: 1, directory_index: 2, timestamp: 3, size: 4, MD5: 5 } as const;

export const DW_RLE = {
  end_of_list: 0, base_addressx: 1, startx_endx: 2, startx_length: 3, offset_pair: 4,
  base_address: 5, start_end: 6, start_length: 7,
} as const;
export const DW_LLE = {
  end_of_list: 0, base_addressx: 1, startx_endx: 2, startx_length: 3, offset_pair: 4,
  default_location: 5, base_address: 6, start_end: 7, start_length: 8, GNU_view_pair: 9,
} as const;

/** DW_OP_* opcodes. Names match binutils/gdb spelling (without the DW_OP_ prefix). */
export const DW_OP = {
  addr: 0x03, deref: 0x06, const1u: 0x08, const1s: 0x09, const2u: 0x0a, const2s: 0x0b, const4u: 0x0c,
  const4s: 0x0d, const8u: 0x0e, const8s: 0x0f, constu: 0x10, consts: 0x11, dup: 0x12, drop: 0x13,
  over: 0x14, pick: 0x15, swap: 0x16, rot: 0x17, xderef: 0x18, abs: 0x19, and: 0x1a, div: 0x1b,
  minus: 0x1c, mod: 0x1d, mul: 0x1e, neg: 0x1f, not: 0x20, or: 0x21, plus: 0x22, plus_uconst: 0x23,
  shl: 0x24, shr: 0x25, shra: 0x26, xor: 0x27, bra: 0x28, eq: 0x29, ge: 0x2a, gt: 0x2b, le: 0x2c,
  lt: 0x2d, ne: 0x2e, skip: 0x2f, lit0: 0x30, lit31: 0x4f, reg0: 0x50, reg31: 0x6f, breg0: 0x70,
  breg31: 0x8f, regx: 0x90, fbreg: 0x91, bregx: 0x92, piece: 0x93, deref_size: 0x94, xderef_size: 0x95,
  nop: 0x96, push_object_address: 0x97, call2: 0x98, call4: 0x99, call_ref: 0x9a,
  form_tls_address: 0x9b, call_frame_cfa: 0x9c, bit_piece: 0x9d, implicit_value: 0x9e,
  stack_value: 0x9f, implicit_pointer: 0xa0, addrx: 0xa1, constx: 0xa2, entry_value: 0xa3,
  const_type: 0xa4, regval_type: 0xa5, deref_type: 0xa6, xderef_type: 0xa7, convert: 0xa8,
  reinterpret: 0xa9, GNU_push_tls_address: 0xe0, GNU_uninit: 0xf0, GNU_encoded_addr: 0xf1,
  GNU_implicit_pointer: 0xf2, GNU_entry_value: 0xf3, GNU_const_type: 0xf4, GNU_regval_type: 0xf5,
  GNU_deref_type: 0xf6, GNU_convert: 0xf7, GNU_reinterpret: 0xf9, GNU_parameter_ref: 0xfa,
  GNU_addr_index: 0xfb, GNU_const_index: 0xfc, GNU_variable_value: 0xfd,
} as const;

const opNames = new Map<number, string>();
for (const [k, v] of Object.entries(DW_OP)) opNames.set(v, 'DW_OP_' + k);
for (let i = 0; i < 32; i++) {
  opNames.set(0x30 + i, `DW_OP_lit${i}`); opNames.set(0x50 + i, `DW_OP_reg${i}`); opNames.set(0x70 + i, `DW_OP_breg${i}`);
}
export function opName(op: number): string { return opNames.get(op) ?? `DW_OP_<0x${op.toString(16)}>`; }

const tagNames = new Map<number, string>(Object.entries(DW_TAG).map(([k, v]) => [v, 'DW_TAG_' + k]));
export function tagName(tag: number): string { return tagNames.get(tag) ?? `DW_TAG_<0x${tag.toString(16)}>`; }

export const DW_CFA = {
  advance_loc: 0x40, offset: 0x80, restore: 0xc0, nop: 0x00, set_loc: 0x01, advance_loc1: 0x02,
  advance_loc2: 0x03, advance_loc4: 0x04, offset_extended: 0x05, restore_extended: 0x06,
  undefined: 0x07, same_value: 0x08, register: 0x09, remember_state: 0x0a, restore_state: 0x0b,
  def_cfa: 0x0c, def_cfa_register: 0x0d, def_cfa_offset: 0x0e, def_cfa_expression: 0x0f,
  expression: 0x10, offset_extended_sf: 0x11, def_cfa_sf: 0x12, def_cfa_offset_sf: 0x13,
  val_offset: 0x14, val_offset_sf: 0x15, val_expression: 0x16, GNU_args_size: 0x2e,
  GNU_negative_offset_extended: 0x2f,
} as const;

/** DW_EH_PE_* pointer encodings used by .eh_frame (LSB Core spec, "Exception Frames"). */
export const DW_EH_PE = {
  absptr: 0x00, uleb128: 0x01, udata2: 0x02, udata4: 0x03, udata8: 0x04, sleb128: 0x09, sdata2: 0x0a,
  sdata4: 0x0b, sdata8: 0x0c, pcrel: 0x10, textrel: 0x20, datarel: 0x30, funcrel: 0x40, aligned: 0x50,
  indirect: 0x80, omit: 0xff,
} as const;
