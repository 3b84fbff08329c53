/** The vhost-user wire protocol: request codes and feature bits, the message codec, a blocking connection with fd passing. */
package io.ustor.vhost.protocol;
