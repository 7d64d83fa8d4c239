"""The database router: reads inside core.replica.reading_replica() go to the read replica
when DATABASE_REPLICA_URL configures one; every other read, and every write, to `default`."""

from core.replica import REPLICA, replica_alias


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        return replica_alias()

    def db_for_write(self, model, **hints):
        return None  # Django's default: the `default` database

    def allow_relation(self, obj1, obj2, **hints):
        # One database seen through two connections: a row read from the replica may point
        # at a row read from default.
        if {obj1._state.db, obj2._state.db} <= {"default", REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica follows default by replication; migrate never runs on it.
        return False if db == REPLICA else None
