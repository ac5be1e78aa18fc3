# Writes the systemd unit at install time (install(CODE) in CMakeLists.txt includes this), so that
# `cmake --install --prefix P` and DESTDIR staging point ExecStart at P's binary.
# In: ALK_UNIT_TEMPLATE, ALK_REL_BINDIR, ALK_REL_DOCDIR, ALK_REL_UNITDIR (relative to the prefix,
# or absolute), ALK_CONFIG_DIR; CMAKE_INSTALL_PREFIX as cmake --install sets it.

get_filename_component(alk_prefix "${CMAKE_INSTALL_PREFIX}" ABSOLUTE)

function(alk_under_prefix out dir)
  if(IS_ABSOLUTE "${dir}")
    set(${out} "${dir}" PARENT_SCOPE)
  else()
    set(${out} "${alk_prefix}/${dir}" PARENT_SCOPE)
  endif()
endfunction()

alk_under_prefix(ALK_BINDIR "${ALK_REL_BINDIR}")
alk_under_prefix(ALK_DOCDIR "${ALK_REL_DOCDIR}")
alk_under_prefix(alk_unit_dir "${ALK_REL_UNITDIR}")
set(alk_unit "$ENV{DESTDIR}${alk_unit_dir}/alknet-docker.service")
message(STATUS "Installing: ${alk_unit}")
configure_file("${ALK_UNIT_TEMPLATE}" "${alk_unit}" @ONLY)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${alk_unit}")
