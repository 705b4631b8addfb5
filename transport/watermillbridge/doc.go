// Package watermillbridge plugs any watermill Pub/Sub
// (github.com/ThreeDotsLabs/watermill: Kafka, AMQP, SQL, Google Cloud
// Pub/Sub, Redis Streams, an in-process GoChannel, ...) into sockgate: a
// Bridge wraps a message.Publisher and/or a message.Subscriber and offers
// transport.Publisher, transport.Subscriber and transport.AckSubscriber, so
// such a broker needs no transport package of its own. A sockgate channel is
// a watermill topic; a sockgate message is the payload of one watermill
// message, with a fresh UUID and no metadata.
//
// # Guarantees
//
// They are the wrapped Pub/Sub's; the bridge adds none and takes none away.
//
//   - Publish passes the messages of one call, in order, to one watermill
//     Publish call, and returns len(msgs) when it succeeds. watermill reports
//     success or failure of the whole call only, so on error Publish returns
//     0, although some leading messages may have been published: a retry can
//     duplicate them. Every message carries Publish's ctx as its context
//     (network publishers such as watermill-redisstream send with it);
//     when ctx ends or the Bridge closes before the wrapped Publish returns,
//     Publish returns 0 and leaves it running (Stats.Abandoned).
//   - Order across messages and Publish calls holds where the wrapped Pub/Sub
//     keeps it (a Kafka partition, one Redis stream); watermill's GoChannel
//     keeps it only with gochannel.Config.BlockPublishUntilSubscriberAck,
//     and then its Publish waits until every subscription of the topic has
//     acknowledged each message.
//   - Subscribe acknowledges each message once it is in the subscription's
//     Go channel (SubscriptionBuffer messages): at most once from there on,
//     whatever the wrapped subscriber offers.
//   - SubscribeAck hands messages over unacknowledged; Delivery.Ack is the
//     watermill message's Ack. Whether, when and in which order a message
//     not acknowledged comes again is the wrapped subscriber's to decide:
//     a subscription resumes after a restart only with a durable subscriber
//     (a Kafka consumer group, a durable AMQP queue, a watermill-redisstream
//     consumer group), one per sockgate node; with some, not in order
//     (watermill-redisstream redelivers through its claim loop, after
//     MaxIdleTime and after newer messages). watermill's Subscriber
//     contract hands out a message only after the previous one was acked
//     (or nacked), so a receiver must Ack every delivery (cluster.Manager
//     does) to get the next. Delivery.ID is the message's UUID, the same
//     on every redelivery but not increasing with publish order, unless
//     Config.IDMetadata names a metadata key that carries an increasing
//     sequence.
//   - A message a subscription holds when its ctx ends or the Bridge closes
//     is nacked (Stats.Nacked), never waited on.
//
// The bridge has no Ping: watermill defines no health check.
//
// With a GoChannel in BlockPublishUntilSubscriberAck mode, a SubscribeAck
// receiver that publishes to the same GoChannel before acknowledging what it
// holds waits for itself; acknowledge first.
package watermillbridge
