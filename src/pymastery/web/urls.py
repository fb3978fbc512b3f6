from django.urls import URLPattern, path

from pymastery.web.learn import views

urlpatterns: list[URLPattern] = [
    path("", views.home, name="home"),
    path("modules/<int:number>/", views.module_detail, name="module"),
    path("paths/<slug:path_id>/", views.path_detail, name="path"),
    path("sections/<str:key>/", views.section_detail, name="section"),
    path("sections/<str:key>/examples/<str:name>/run", views.run_example, name="run-example"),
    path("search/", views.search, name="search"),
    path("highlight.css", views.highlight_css, name="highlight-css"),
]
