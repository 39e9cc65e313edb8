# kiln_add_library(<name> EXPORT_NAME <n> SOURCES <files...>
#                  [KILN <kiln libraries it builds on...>]
#                  [PUBLIC <targets...>] [PRIVATE <targets...>] [STATIC_LINK <library files...>])
#
# One set of objects, compiled once (position-independent), becomes two libraries:
#   <name>         shared, Kiln::<n>          (what the build tree's programs link)
#   <name>_static  static, Kiln::<n>_static   (when KILN_BUILD_STATIC)
# KILN names other Kiln libraries: the shared one links their shared forms, the
# static one their static forms. PRIVATE targets give the objects their include
# paths and the shared library its links. A static library cannot hide its
# dependencies, so its users link STATIC_LINK too: plain library files (resolved to
# their run-time files), which a consumer of the installed package needs no
# find_package() and no -dev package for.
function(kiln_add_library name)
  cmake_parse_arguments(ARG "" "EXPORT_NAME" "SOURCES;KILN;PUBLIC;PRIVATE;STATIC_LINK" ${ARGN})
  set(objects ${name}_objects)
  add_library(${objects} OBJECT ${ARG_SOURCES})
  set_target_properties(${objects} PROPERTIES POSITION_INDEPENDENT_CODE ON)
  target_include_directories(${objects} PUBLIC ${PROJECT_SOURCE_DIR}/include PRIVATE ${PROJECT_SOURCE_DIR}/src)
  target_link_libraries(${objects} PUBLIC ${ARG_KILN} ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  kiln_precompile(${objects})
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # Calls inside the library may be inlined as in a static build: nobody interposes Kiln's symbols.
    target_compile_options(${objects} PRIVATE -fno-semantic-interposition)
  endif()

  set(interface_includes $<BUILD_INTERFACE:${PROJECT_SOURCE_DIR}/include>
                         $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)

  add_library(${name} SHARED $<TARGET_OBJECTS:${objects}>)
  target_include_directories(${name} PUBLIC ${interface_includes})
  target_link_libraries(${name} PUBLIC ${ARG_KILN} ${ARG_PUBLIC} PRIVATE ${ARG_PRIVATE})
  set_target_properties(${name} PROPERTIES
    EXPORT_NAME ${ARG_EXPORT_NAME}
    VERSION ${PROJECT_VERSION}
    # 0.x: every minor release may change the ABI.
    SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR}
    INSTALL_RPATH "$ORIGIN")
  add_library(Kiln::${ARG_EXPORT_NAME} ALIAS ${name})
  set_property(GLOBAL APPEND PROPERTY KILN_LIBRARIES ${name})

  if(KILN_BUILD_STATIC)
    set(static_kiln "")
    foreach(lib ${ARG_KILN})
      list(APPEND static_kiln ${lib}_static)
    endforeach()
    # The run-time file behind each library (libdnnl.so -> libdnnl.so.2.6), so that linking
    # the installed static libraries needs the run-time packages the Debian package depends
    # on, not the -dev packages that provide the unversioned names.
    set(static_link "")
    foreach(lib ${ARG_STATIC_LINK})
      if(IS_ABSOLUTE "${lib}")
        get_filename_component(lib "${lib}" REALPATH)
      endif()
      list(APPEND static_link "${lib}")
    endforeach()
    add_library(${name}_static STATIC $<TARGET_OBJECTS:${objects}>)
    target_include_directories(${name}_static PUBLIC ${interface_includes})
    target_link_libraries(${name}_static PUBLIC ${static_kiln} ${ARG_PUBLIC} ${static_link})
    set_target_properties(${name}_static PROPERTIES EXPORT_NAME ${ARG_EXPORT_NAME}_static OUTPUT_NAME ${name})
    add_library(Kiln::${ARG_EXPORT_NAME}_static ALIAS ${name}_static)
    set_property(GLOBAL APPEND PROPERTY KILN_LIBRARIES ${name}_static)
  endif()
endfunction()
