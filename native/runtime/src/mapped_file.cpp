#include "mmi/runtime/mapped_file.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "mmi/runtime/errors.hpp"

namespace mmi::runtime {

namespace {

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

MappedFile MappedFile::open(const std::filesystem::path& path) {
  const std::string name = path.string();
  // O_NONBLOCK: opening a FIFO planted in a model folder would otherwise wait for a writer forever; a regular
  // file reads the same either way, and anything else is refused below.
  Fd fd(::open(name.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (fd.get() < 0) {
    const int err = errno;
    throw Error(err == ENOENT ? ErrorCode::FileNotFound : ErrorCode::FileUnreadable, name, "", std::strerror(err));
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) throw Error(ErrorCode::FileUnreadable, name, "", std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::FileUnreadable, name, "", "not a regular file");
  MappedFile f;
  f.size_ = static_cast<std::size_t>(st.st_size);
  if (f.size_ == 0) return f;
  void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd.get(), 0);
  if (p == MAP_FAILED) throw Error(ErrorCode::FileUnreadable, name, "", std::string("mmap: ") + std::strerror(errno));
  f.data_ = p;
  return f;
}

MappedFile::MappedFile(MappedFile&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedFile& MappedFile::operator=(MappedFile&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() { release(); }

void MappedFile::release() noexcept {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

}  // namespace mmi::runtime
