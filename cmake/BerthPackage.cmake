# The Debian package: `cpack -G DEB --config build/CPackConfig.cmake` makes berth_<version>-1_<arch>.deb
# from what `cmake --install` installs (binaries, completions, berth(1)) plus the documentation,
# and, in the package only (component `deb`), Debian's changelog.Debian.gz and lintian overrides.
# Depends is read from the linked libraries by dpkg-shlibdeps, not written by hand; the binaries
# are stripped, as Debian ships them. tests/integration/deb_package_test.sh builds it, checks it
# and runs lintian; deb_install_test.sh installs it into a clean Debian 12 tree.

# --- documentation: README, docs/ (with drivers/), the drivers' own READMEs, the copyright -----
install(FILES README.md packaging/debian/copyright DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR}/docs FILES_MATCHING PATTERN "*.md")
foreach(driver generic none)
  install(FILES drivers/${driver}/README.md DESTINATION ${CMAKE_INSTALL_DOCDIR}/drivers/${driver})
endforeach()

set(BERTH_DEB_MAINTAINER "berth maintainers <maintainers@users.noreply.b-seed-bc8e9da0.example>"
    CACHE STRING "Maintainer field of the Debian package (and its changelog)")
set(BERTH_HOMEPAGE "" CACHE STRING "Homepage field of the Debian package (left out when empty)")
set(BERTH_DEB_RELEASE 1)
set(BERTH_DEB_VERSION ${PROJECT_VERSION}-${BERTH_DEB_RELEASE})

# --- Debian's own files, for the package only (EXCLUDE_FROM_ALL: not `cmake --install`) ---------
# changelog.Debian.gz: one entry for this version, dated like the man page (configure time, or
# $SOURCE_DATE_EPOCH's), compressed with -9n as lintian wants.
string(TIMESTAMP BERTH_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(BERTH_DEB_DIR ${CMAKE_CURRENT_BINARY_DIR}/debian)
configure_file(packaging/debian/changelog.Debian.in ${BERTH_DEB_DIR}/changelog.Debian @ONLY)
execute_process(COMMAND ${BERTH_GZIP} -9nf ${BERTH_DEB_DIR}/changelog.Debian RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip of ${BERTH_DEB_DIR}/changelog.Debian failed: ${rc}")
endif()
install(FILES ${BERTH_DEB_DIR}/changelog.Debian.gz DESTINATION ${CMAKE_INSTALL_DOCDIR} COMPONENT deb EXCLUDE_FROM_ALL)
install(FILES packaging/debian/lintian-overrides DESTINATION ${CMAKE_INSTALL_DATADIR}/lintian/overrides
        RENAME berth COMPONENT deb EXCLUDE_FROM_ALL)

# --- CPack -------------------------------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_VERBATIM_VARIABLES ON)  # the description's quotes reach CPackConfig.cmake as they are
set(CPACK_PACKAGE_NAME berth)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
# Everything `cmake --install` installs, then the `deb` component.
set(CPACK_INSTALL_CMAKE_PROJECTS "${CMAKE_BINARY_DIR};berth;ALL;/" "${CMAKE_BINARY_DIR};berth;deb;/")
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_CONTACT "${BERTH_DEB_MAINTAINER}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "make hardened Docker hosts, like docker-machine")
set(CPACK_DEBIAN_PACKAGE_DESCRIPTION
"berth creates a machine (a VM through libvirt or VirtualBox, or an
existing host over SSH), installs Docker on it and locks it down: Docker
over mutual TLS only, userns-remap, seccomp, AppArmor, no-new-privileges,
auditd, a tightened sshd and firewall, and its own authorization plugin
(berth-authz). Every machine has a CA of its own, so a client
certificate opens only the machine it was issued for. \"berth env\"
points the docker CLI at a machine, as docker-machine did.")
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_RELEASE ${BERTH_DEB_RELEASE})
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${BERTH_DEB_MAINTAINER}")
if(BERTH_HOMEPAGE)
  set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "${BERTH_HOMEPAGE}")
endif()
# Depends: the libraries berth links, found by dpkg-shlibdeps (berth-authz is static: none), and
# gpgv, which `berth image pull` runs to check a signed checksum file.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "gpgv")
# Recommends: what the default driver (libvirt) needs on this host (libvirtd, qemu, genisoimage
# for the seed ISO, qemu-img for images and qcow2 volumes), the TLS roots image downloads are
# checked against, OpenSSH's client for `berth ssh` and `berth scp`, and rsync for `berth scp -d`.
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS
    "libvirt-daemon-system, qemu-system-x86, qemu-utils, genisoimage, ca-certificates, openssh-client, rsync")
# Suggests: `berth image build` (debootstrap, mke2fs), virsh for `berth image bake` and the hints
# berth prints, the docker CLI that `berth env` points at a machine.
set(CPACK_DEBIAN_PACKAGE_SUGGESTS "debootstrap, e2fsprogs, libvirt-clients, docker.io")
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
include(CPack)
