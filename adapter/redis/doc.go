// Package redis is the cluster adapter on Redis (work in progress).
package redis

import _ "github.com/redis/go-redis/v9"
