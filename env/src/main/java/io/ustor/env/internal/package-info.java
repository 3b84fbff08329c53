/** Implementation pieces of the env module (allocators, queues); not for other modules. */
package io.ustor.env.internal;
