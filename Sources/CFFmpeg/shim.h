#ifndef CONCORD_CFFMPEG_SHIM_H
#define CONCORD_CFFMPEG_SHIM_H
#include <libavformat/avformat.h>
#include <libavcodec/avcodec.h>
#include <libavutil/avutil.h>
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/channel_layout.h>
#include <libavutil/samplefmt.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libswscale/swscale.h>
#include <libswresample/swresample.h>

/* Macros that Swift cannot import directly. */
static inline int concord_averror_eof(void) { return AVERROR_EOF; }
static inline int concord_averror_eagain(void) { return AVERROR(EAGAIN); }
static inline int64_t concord_av_nopts_value(void) { return AV_NOPTS_VALUE; }
#endif
