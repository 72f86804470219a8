// One file descriptor across a unix socket (SCM_RIGHTS): the message both
// ends lay out the same way. Header-only and allocation-free, so the spawn
// child may use it.
#pragma once

#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

namespace peapod {

struct FdMessage {
  char byte = 'f';  // a message must carry at least one byte
  struct iovec iov;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg;

  FdMessage() {
    iov.iov_base = &byte;
    iov.iov_len = 1;
    memset(control, 0, sizeof control);
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }

  // Before sendmsg: the fd to pass.
  void Carry(int fd) {
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &fd, sizeof fd);
  }

  // After recvmsg: the fd passed, or -1.
  int Carried() {
    struct cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == nullptr || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS) return -1;
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    return fd;
  }
};

}  // namespace peapod
