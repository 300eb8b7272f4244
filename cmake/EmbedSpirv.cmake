# cmake -DSPV=in.spv -DOUT=out.cpp -DNAME=id -P EmbedSpirv.cmake
# Writes the SPIR-V words of SPV as `const std::uint32_t vkattn_spv_<NAME>[]`.
file(READ "${SPV}" hex HEX)
string(LENGTH "${hex}" nchars)
math(EXPR rem "${nchars} % 8")
if(NOT rem EQUAL 0 OR nchars EQUAL 0)
  message(FATAL_ERROR "${SPV}: not a whole number of 32-bit words")
endif()
# SPIR-V is little-endian on disk; reorder each 4-byte group into a 0x........ literal.
string(REGEX REPLACE "(..)(..)(..)(..)" "0x\\4\\3\\2\\1u," words "${hex}")
string(REGEX REPLACE "(0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,0x........u,)" "\\1\n" words "${words}")
math(EXPR nwords "${nchars} / 8")
file(WRITE "${OUT}" "// Generated from ${NAME}.spv. Do not edit.
#include <cstddef>
#include <cstdint>
extern const std::uint32_t vkattn_spv_${NAME}[];
extern const std::size_t vkattn_spv_${NAME}_words;
alignas(4) const std::uint32_t vkattn_spv_${NAME}[] = {
${words}
};
const std::size_t vkattn_spv_${NAME}_words = ${nwords};
")
