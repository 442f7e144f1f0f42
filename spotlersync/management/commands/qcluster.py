"""`manage.py qcluster`: django-q2's own command, and a mark in the shared cache, every few
seconds while the cluster runs, saying which queue it works (spotlersync/queue_presence.py)."""

import multiprocessing
import time

from django.db import close_old_connections
from django_q.conf import Conf
from django_q.management.commands import qcluster

from spotlersync import queue_presence


class Command(qcluster.Command):
    def handle(self, *args, **options) -> None:
        # django-q2's command starts the cluster (its sentinel process and workers) and returns;
        # the cluster then runs until SIGTERM or SIGINT, which its own handler in this process
        # turns into a clean stop.
        super().handle(*args, **options)
        if options.get("run_once"):
            return
        queue = Conf.CLUSTER_NAME
        while any(process.is_alive() for process in multiprocessing.active_children()):
            # A database cache's connection that broke (a database restart) is opened afresh.
            close_old_connections()
            queue_presence.report_alive(queue)
            time.sleep(queue_presence.REPORT_EVERY_SECONDS)
        queue_presence.report_stopped(queue)
