/* codec_timeline: the replay rules of a deployment target's timeline (SPEC §6
 * "which model served target X at time T"). The daemon's index, the client's
 * check of a resolution and the reports all replay DEPLOYMENT, ROLLBACK and
 * RETIREMENT entries through this one function, so their fractions agree to
 * the last bit. Pure: depends on codec only. Threads: any; one state per
 * thread. */
#ifndef MLA_CODEC_TIMELINE_H
#define MLA_CODEC_TIMELINE_H

#include "codec/codec.h"

/* Most models live on one target at once. */
#define MLA_TIMELINE_SERVING_MAX 16

/** A model live on the target. */
typedef struct mla_timeline_serving {
    char *model; /* identity "type:name@version"; owned by the state */
    char *stage; /* owned by the state; "" for none */
    double traffic_fraction;
    uint64_t seq; /* the DEPLOYMENT (or ROLLBACK) that made it live */
    uint64_t stage_seq; /* the DEPLOYMENT its stage came from (seq when unknown) */
} mla_timeline_serving;

/** The stage a model last had on the target (a ROLLBACK restores it). */
typedef struct mla_timeline_stage {
    char *model, *stage;
    uint64_t seq; /* the DEPLOYMENT that gave it */
} mla_timeline_stage;

/** The replayed state of one target: caller-owned, _init + _dispose. */
typedef struct mla_timeline {
    mla_timeline_serving serving[MLA_TIMELINE_SERVING_MAX];
    size_t n_serving;
    mla_timeline_stage *stages;
    size_t n_stages, cap_stages;
} mla_timeline;

void mla_codec_timeline_init(mla_timeline *t);
/** Free what the state owns and leave it empty; NULL is a no-op. */
void mla_codec_timeline_dispose(mla_timeline *t);

/** The index of model in t->serving, or -1. */
long mla_codec_timeline_find(const mla_timeline *t, const char *model);

/** Apply the change of entry seq (validated by codec) to t:
 *  - DEPLOYMENT of model M at fraction f: M serves f (stage from the entry;
 *    its earlier share, if any, is replaced); if the fractions then sum over
 *    1, the others are scaled down in proportion to fill 1 - f, and a model
 *    scaled below 1e-12 has left.
 *  - ROLLBACK to M: M alone serves, at 1.0, with the stage it last had on
 *    the target. When no DEPLOYMENT of M was applied before, the stage is ""
 *    and *stage_unknown is set (a caller holding only part of the timeline
 *    decides whether that is an error); otherwise it is cleared.
 *  - RETIREMENT with an artifact: that model leaves; without: all leave.
 * MLA_EINVAL "change.kind" when c is NULL or no DEPLOYMENT, ROLLBACK or
 * RETIREMENT; MLA_ELIMIT when more than MLA_TIMELINE_SERVING_MAX models
 * would be live; MLA_ENOMEM. Callers restate these in their own terms. On
 * error t may be partly changed: dispose it. */
mla_status mla_codec_timeline_apply(mla_timeline *t, uint64_t seq, const mla_pb_change *c,
                                    bool *stage_unknown) MLA_MUST_USE;

#endif
