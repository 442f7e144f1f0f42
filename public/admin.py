from django.contrib import admin

from public.models import LookupPage, SubscribeForm, Subscription

admin.site.register(SubscribeForm)
admin.site.register(Subscription)
admin.site.register(LookupPage)
