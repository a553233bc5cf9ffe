from django.contrib.auth import views as auth_views
from django.urls import path

from hub.accounts import web as account_views
from hub.web import views

app_name = "web"
urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    # hardening: two-factor sign-in (the second step, and enrolling an authenticator app)
    path("login/two-factor/", account_views.login_two_factor, name="login-two-factor"),
    path("account/two-factor/", account_views.two_factor, name="two-factor"),
    path("profile/", views.profile, name="profile"),
]
