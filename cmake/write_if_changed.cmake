# write_if_changed(PATH CONTENT): writes PATH only when its content differs, so a generated
# source that did not change does not trigger a rebuild. Included by the -P scripts that generate
# sources (embed_templates.cmake, write_version.cmake).
function(write_if_changed path content)
  set(old "")
  if(EXISTS "${path}")
    file(READ "${path}" old)
  endif()
  if(NOT "${old}" STREQUAL "${content}")
    file(WRITE "${path}" "${content}")
  endif()
endfunction()
